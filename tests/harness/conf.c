/* SPDX-License-Identifier: MIT */
/* The text of a private instance's dovecot.conf and passwd-file lines. */
#include "harness-private.h"

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * What Dovecot 2.3.19 advertises after login, minus CONDSTORE and QRESYNC.
 * imap_capability can only replace the whole list, so it is spelled out;
 * the smoke test compares it with what the default server advertises, so
 * a Dovecot upgrade that changes the list makes that test fail rather
 * than silently hiding other capabilities.
 */
static const char no_condstore_caps[] =
	"IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT SORT=DISPLAY "
	"THREAD=REFERENCES THREAD=REFS THREAD=ORDEREDSUBJECT MULTIAPPEND "
	"URL-PARTIAL CATENATE UNSELECT CHILDREN NAMESPACE UIDPLUS "
	"LIST-EXTENDED I18NLEVEL=1 ESEARCH ESORT SEARCHRES WITHIN "
	"CONTEXT=SEARCH LIST-STATUS BINARY MOVE SNIPPET=FUZZY PREVIEW=FUZZY "
	"PREVIEW STATUS=SIZE SAVEDATE LITERAL+ NOTIFY";

/*
 * Settings for running the whole instance as the current, non-root user:
 * Dovecot's internal and login users become that user and nothing may
 * chroot.  As root the Debian defaults (dovecot, dovenull) are right.
 */
static void add_unprivileged(struct buf *c)
{
	struct passwd *pw = getpwuid(getuid());
	struct group *gr = getgrgid(getgid());
	if (pw)
		buf_addf(c,
			 "default_internal_user = %s\n"
			 "default_login_user = %s\n",
			 pw->pw_name, pw->pw_name);
	if (gr)
		buf_addf(c, "default_internal_group = %s\n", gr->gr_name);
	buf_adds(c, "service anvil {\n  chroot =\n}\n");
}

/* Takes word (" NAME ", with its spaces) out of a capability list. */
static void drop_cap(struct buf *caps, const char *word)
{
	char *m = strstr(caps->data, word);
	size_t skip = strlen(word) - 1;
	if (m)
		memmove(m, m + skip, strlen(m + skip) + 1);
	caps->len = strlen(caps->data);
}

char *harness_config_text(const struct harness *h,
			  const struct harness_opts *opts)
{
	struct buf c = BUF_INIT(BUF_UNLIMITED);
	char sep = opts->separator ? opts->separator : '/';
	buf_addf(&c,
		 "# Written by the tidemail test harness: a private instance,\n"
		 "# everything it owns lives in %s.\n"
		 "base_dir = %s/run\n"
		 "state_dir = %s/state\n"
		 "log_path = %s/dovecot.log\n"
		 "instance_name = tm-harness\n"
		 "protocols = imap\n"
		 "listen = %s, %s\n"
		 "ssl = yes\n"
		 "ssl_cert = <%s/tls/server.pem\n"
		 "ssl_key = <%s/tls/server-key.pem\n"
		 "disable_plaintext_auth = %s\n",
		 h->dir, h->dir, h->dir, h->dir, h->host, h->alt_host, h->dir,
		 h->dir, opts->plaintext_auth ? "no" : "yes");
	/* Dovecot refuses uids below first_valid_uid (500 by default) and
	 * Debian's mail user is 8. */
	buf_addf(&c,
		 "first_valid_uid = %u\n"
		 "last_valid_uid = 0\n"
		 "first_valid_gid = %u\n"
		 "last_valid_gid = 0\n"
		 "mail_location = maildir:~/Maildir\n"
		 "namespace inbox {\n"
		 "  inbox = yes\n"
		 "  separator = %c\n"
		 "}\n"
		 "passdb {\n"
		 "  driver = passwd-file\n"
		 "  args = scheme=PLAIN %s\n"
		 "}\n"
		 "userdb {\n"
		 "  driver = passwd-file\n"
		 "  args = %s\n"
		 "}\n",
		 (unsigned)h->mail_uid, (unsigned)h->mail_gid, sep,
		 h->users_file, h->users_file);
	buf_addf(&c,
		 "service imap-login {\n"
		 "  inet_listener imap {\n"
		 "    port = %u\n"
		 "  }\n"
		 "  inet_listener imaps {\n"
		 "    port = %u\n"
		 "    ssl = yes\n"
		 "  }\n"
		 "%s%s"
		 "}\n",
		 h->imap_port, h->imaps_port,
		 opts->fast_login ? "  service_count = 0\n" : "",
		 getuid() == 0 ? "" : "  chroot =\n");
	/* Listeners of protocols we do not run stay closed, so that two
	 * instances never fight over the standard ports. */
	buf_adds(&c,
		 "service pop3-login {\n"
		 "  inet_listener pop3 {\n    port = 0\n  }\n"
		 "  inet_listener pop3s {\n    port = 0\n  }\n"
		 "}\n"
		 "service submission-login {\n"
		 "  inet_listener submission {\n    port = 0\n  }\n"
		 "}\n");
	if (getuid() != 0)
		add_unprivileged(&c);
	/* imap_zlib adds COMPRESS=DEFLATE only to Dovecot's own list, so a
	 * replaced list must name it itself. */
	if (opts->no_condstore || opts->no_qresync || opts->no_move ||
	    opts->no_uidplus) {
		/* The usual list, with what the options take out. */
		struct buf caps = BUF_INIT(BUF_UNLIMITED);
		buf_adds(&caps, no_condstore_caps);
		if (!opts->no_condstore)
			buf_adds(&caps, opts->no_qresync ? " CONDSTORE" : " CONDSTORE QRESYNC");
		if (opts->no_move)
			drop_cap(&caps, " MOVE ");
		if (opts->no_uidplus)
			drop_cap(&caps, " UIDPLUS ");
		buf_addf(&c, "imap_capability = %s%s\n", caps.data,
			 opts->compress ? " COMPRESS=DEFLATE" : "");
		buf_release(&caps);
	}
	if (opts->compress)
		buf_adds(&c, "protocol imap {\n"
			     "  mail_plugins = $mail_plugins imap_zlib\n"
			     "}\n");
	return buf_detach(&c, NULL);
}

char *harness_passwd_line(const struct harness *h, const char *name,
			  const char *password)
{
	return xasprintf("%s:{PLAIN}%s:%u:%u::%s/%s::\n", name, password,
			 (unsigned)h->mail_uid, (unsigned)h->mail_gid,
			 h->mail_dir, name);
}
