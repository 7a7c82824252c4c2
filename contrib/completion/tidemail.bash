# SPDX-License-Identifier: MIT
# bash completion for tidemail(1): options, commands, and account names
# read from the config (the one given with -c, else the default path).
# Needs nothing but bash; the bash-completion package loads it on demand.

# The account names in a config file: the keys one level below
# `accounts:` in block style.  A simple reading, not a YAML parser:
# quoted names and flow style ({...}) are not offered.
_tidemail_accounts()
{
	local file=$1
	[[ -r $file ]] || return 0
	awk '
		/^accounts:[ \t]*(#.*)?$/ { inside = 1; indent = ""; next }
		inside && /^[^ \t#]/ { inside = 0 }
		inside && /^[ ]+[A-Za-z0-9_-][A-Za-z0-9._-]*:([ \t]|$)/ {
			lead = $0
			sub(/[^ ].*/, "", lead)
			if (indent == "")
				indent = lead
			if (lead == indent) {
				name = substr($0, length(lead) + 1)
				sub(/:.*/, "", name)
				print name
			}
		}' "$file" 2>/dev/null
}

_tidemail()
{
	local cur=${COMP_WORDS[COMP_CWORD]}
	local prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	local config= command= i word

	# What is before the cursor: the config given with -c and the command.
	for ((i = 1; i < COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		case $word in
		-c | --config)
			((i++))
			config=${COMP_WORDS[i]}
			;;
		--config=*)
			config=${word#--config=}
			;;
		-*) ;;
		*)
			command=$word
			break
			;;
		esac
	done
	if [[ -z $config ]]; then
		local base=${XDG_CONFIG_HOME:-}
		[[ $base == /* ]] || base=$HOME/.config
		config=$base/tidemail/config.yaml
	fi
	config=${config/#\~/$HOME}

	if [[ -z $command ]]; then
		case $prev in
		-c | --config)
			COMPREPLY=($(compgen -f -- "$cur"))
			return 0
			;;
		esac
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W '-c --config -v --verbose -q --quiet -h --help --version' -- "$cur"))
		else
			COMPREPLY=($(compgen -W 'check status sync watch' -- "$cur"))
		fi
		return 0
	fi

	local options='--help'
	[[ $command == sync ]] && options='--dry-run --pull --push --force --help'
	[[ $command == watch ]] && options='--interval --help'
	case $command in
	check | status | sync | watch)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "$options" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_tidemail_accounts "$config")" -- "$cur"))
		fi
		;;
	esac
	return 0
}

complete -o default -F _tidemail tidemail
