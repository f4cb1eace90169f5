/* SPDX-License-Identifier: MIT */
#include "tierd-log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

static int log_level = LOG_INFO;
static bool use_journal;

void tierd_log_set_level(int level)
{
	log_level = level;
}

int tierd_log_get_level(void)
{
	return log_level;
}

/* systemd sets JOURNAL_STREAM=dev:ino for the stream it connected to stderr;
 * only if stderr is still that stream do we send to the journal directly (a
 * daemon run from a terminal on a systemd host keeps logging to the terminal). */
void tierd_log_open(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	struct stat st;
	unsigned long long dev, ino;

	use_journal = false;
	if (js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) == 0)
		use_journal = (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static void emit(int prio, const char *message_id, const struct tierd_field *fields, size_t nfields,
		 const char *msg)
{
	if (use_journal) {
		struct iovec iov[24];
		char buf[24][160];
		size_t n = 0;
		char *m = NULL;

		if (asprintf(&m, "MESSAGE=%s", msg) < 0)
			return;
		iov[n++] = (struct iovec){ m, strlen(m) };
		snprintf(buf[n], sizeof(buf[n]), "PRIORITY=%d", prio);
		iov[n] = (struct iovec){ buf[n], strlen(buf[n]) };
		n++;
		snprintf(buf[n], sizeof(buf[n]), "SYSLOG_IDENTIFIER=tierd");
		iov[n] = (struct iovec){ buf[n], strlen(buf[n]) };
		n++;
		if (message_id) {
			snprintf(buf[n], sizeof(buf[n]), "MESSAGE_ID=%s", message_id);
			iov[n] = (struct iovec){ buf[n], strlen(buf[n]) };
			n++;
		}
		for (size_t i = 0; i < nfields && n < 24; i++) {
			snprintf(buf[n], sizeof(buf[n]), "%s=%s", fields[i].key, fields[i].value);
			iov[n] = (struct iovec){ buf[n], strlen(buf[n]) };
			n++;
		}
		int r = sd_journal_sendv(iov, (int)n);
		free(m);
		if (r >= 0)
			return;
		/* journald gone (stopping, restarting): fall through to stderr */
	}

	char tail[1024] = "";
	size_t off = 0;
	for (size_t i = 0; i < nfields && off < sizeof(tail); i++) {
		int w = snprintf(tail + off, sizeof(tail) - off, " %s=%s", fields[i].key, fields[i].value);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	fprintf(stderr, "<%d>%s%s\n", prio, msg, tail);
	fflush(stderr);
}

void tierd_logv(int prio, const char *fmt, va_list ap)
{
	char msg[2048];
	if (prio > log_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	emit(prio, NULL, NULL, 0, msg);
}

void tierd_log(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tierd_logv(prio, fmt, ap);
	va_end(ap);
}

void tierd_event(int prio, const char *message_id, const struct tierd_field *fields, size_t nfields,
		 const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	if (prio > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	emit(prio, message_id, fields, nfields, msg);
}

void tierd_field_set(struct tierd_field *f, const char *key, const char *fmt, ...)
{
	va_list ap;
	f->key = key;
	va_start(ap, fmt);
	vsnprintf(f->value, sizeof(f->value), fmt, ap);
	va_end(ap);
}
