/* SPDX-License-Identifier: MIT */
/*
 * The owner of demotion_enabled (see tierd-demotion.h; decisions in
 * lib/demotion.c).  Everything here except tierd_demotion_hold() and
 * tierd_demotion_status() runs on the guard thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tierd.h"
#include "tierd-demotion.h"
#include "tierd-guard.h"
#include "tierd-log.h"

/* Big enough for the one entry; the file is always exactly this long. */
#define KNOB_FILE_BYTES 256

static int parse_knob(const char *buf)
{
	/* demotion_enabled_show() prints "true"/"false"; accept the kstrtobool
	 * spellings a hand-made tree might use too. */
	if (!strcmp(buf, "true") || !strcmp(buf, "1") || !strcmp(buf, "y"))
		return 1;
	if (!strcmp(buf, "false") || !strcmp(buf, "0") || !strcmp(buf, "n"))
		return 0;
	return -1;
}

static int knob_file_write(struct tierd_owner *o)
{
	char buf[KNOB_FILE_BYTES];
	int n;
	if (o->file_fd < 0)
		return -EBADF;
	if (o->recorded[0])
		n = snprintf(buf, sizeof(buf),
			     "{\"version\":1,\"pid\":%ld,\"entries\":[{\"kind\":\"knob\",\"key\":\"%s\","
			     "\"original\":\"%s\",\"recorded_usec\":%llu}]}",
			     (long)getpid(), TIERD_KNOB_DEMOTION, o->recorded, (unsigned long long)o->recorded_usec);
	else
		n = snprintf(buf, sizeof(buf), "{\"version\":1,\"pid\":%ld,\"entries\":[]}", (long)getpid());
	if (n < 0 || (size_t)n >= sizeof(buf) - 1)
		return -EOVERFLOW;
	memset(buf + n, ' ', sizeof(buf) - 1 - (size_t)n);
	buf[sizeof(buf) - 1] = '\n';
	ssize_t w = pwrite(o->file_fd, buf, sizeof(buf), 0);
	if (w < 0)
		return -errno;
	if ((size_t)w != sizeof(buf))
		return -EIO;
	/* A no-op on tmpfs; a state dir on a disk gets it to the disk. */
	if (fdatasync(o->file_fd) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

int tierd_owner_open(struct tierd_owner *o, struct tierd *d, int leftover_original)
{
	memset(o, 0, sizeof(*o));
	tier_demotion_init(&o->st);
	o->file_fd = -1;
	o->knob.fd = -1;
	o->follow_renames = strcmp(d->root, "/") != 0;
	int r = tier_attr_open(d->rootfd, &o->knob, TIERD_KNOB_DEMOTION, O_RDWR);
	o->knob_writable = r == 0;
	if (r == -EACCES || r == -EROFS || r == -EPERM)
		r = tier_attr_open(d->rootfd, &o->knob, TIERD_KNOB_DEMOTION, O_RDONLY);
	if (r < 0 && r != -ENOENT)
		log_warning("cannot open /%s: %s (the guard cannot see demotion)", TIERD_KNOB_DEMOTION, strerror(-r));
	/* A dry run that found a previous run's state leaves it alone (it is
	 * not restored, and a reload to live is refused). */
	if (d->statefd >= 0 && !d->crash_restore_pending) {
		o->file_fd = openat(d->statefd, TIERD_KNOB_STATE_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (o->file_fd < 0) {
			int e = errno;
			log_error("cannot open %s/%s: %s (demotion_enabled will not be changed)", d->state_dir,
				  TIERD_KNOB_STATE_FILE, strerror(e));
			return -e;
		}
		(void)ftruncate(o->file_fd, KNOB_FILE_BYTES);
		if (leftover_original >= 0) {
			/* Crash restore could not put it back: tierd still owes it. */
			o->st.original = leftover_original;
			snprintf(o->recorded, sizeof(o->recorded), "%s", leftover_original ? "true" : "false");
			o->recorded_usec = tierd_now_real_usec();
			int k = tierd_owner_read(o, d);
			if (k >= 0 && k != leftover_original)
				o->st.written = k;
		}
		r = knob_file_write(o);
		if (r < 0) {
			log_error("cannot write %s/%s: %s", d->state_dir, TIERD_KNOB_STATE_FILE, strerror(-r));
			return r;
		}
	}
	return 0;
}

int tierd_owner_read(struct tierd_owner *o, struct tierd *d)
{
	char buf[32];
	if (o->follow_renames)
		(void)tier_attr_refresh(d->rootfd, &o->knob);
	ssize_t n = tier_attr_pread(&o->knob, buf, sizeof(buf));
	if (n < 0)
		return -1;
	tier_rstrip(buf);
	return parse_knob(buf);
}

static void write_failed(struct tierd_owner *o, const char *value, int r, const char *reason, struct tierd *d)
{
	o->write_failures++;
	if (-r != o->last_errno)
		log_error("writing %s to /%s failed: %s (retrying at every look; said once)", value,
			  TIERD_KNOB_DEMOTION, strerror(-r));
	o->last_errno = -r;
	tierd_record_action(d, "demotion", TIERD_KNOB_DEMOTION, value, reason, r);
}

unsigned tierd_owner_settle(struct tierd_owner *o, struct tierd *d, int knob, bool dry_run)
{
	struct tier_demotion_decision dec;
	struct tierd_field f[2];
	tier_demotion_decide(&o->st, knob, dry_run, &dec);
	switch (dec.action) {
	case TIER_DEMOTION_NONE:
		return 0;
	case TIER_DEMOTION_ADOPT:
		/* The admin's value is the new original and already in place:
		 * nothing is owed to the host any more. */
		if (o->recorded[0]) {
			o->recorded[0] = '\0';
			(void)knob_file_write(o);
		}
		tierd_field_set(&f[0], "TIERD_VALUE", "%s", dec.value ? "true" : "false");
		tierd_event(LOG_NOTICE, TIERD_MID_KNOB, f, 1, "%s", dec.reason);
		tierd_record_action(d, "demotion", TIERD_KNOB_DEMOTION, NULL, dec.reason, 0);
		return dec.overridden_now;
	case TIER_DEMOTION_WRITE:
		break;
	}
	const char *value = dec.value ? "true" : "false";
	tierd_field_set(&f[0], "TIERD_KNOB", "%s", TIERD_KNOB_DEMOTION);
	tierd_field_set(&f[1], "TIERD_VALUE", "%s", value);
	if (!dec.real) {
		/* Said once per change of what tierd would do, not per look. */
		tierd_event(LOG_NOTICE, TIERD_MID_KNOB, f, 2, "dry-run: would write %s to /%s: %s", value,
			    TIERD_KNOB_DEMOTION, dec.reason);
		tierd_record_action(d, "demotion", TIERD_KNOB_DEMOTION, value, dec.reason, 0);
		tier_demotion_written(&o->st, &dec);
		return 0;
	}
	if (!o->knob_writable) {
		write_failed(o, value, -EROFS, dec.reason, d);
		return 0;
	}
	int r;
	if (dec.first_write) {
		/* Never change a setting whose original is not on record. */
		snprintf(o->recorded, sizeof(o->recorded), "%s", o->st.original ? "true" : "false");
		o->recorded_usec = tierd_now_real_usec();
		r = knob_file_write(o);
		if (r < 0) {
			o->recorded[0] = '\0';
			write_failed(o, value, r == -EBADF ? -EBADF : -EIO, dec.reason, d);
			return 0;
		}
	}
	r = tier_attr_pwrite(&o->knob, value);
	if (r < 0) {
		write_failed(o, value, r, dec.reason, d);
		return 0;
	}
	o->last_errno = 0;
	o->writes++;
	tier_demotion_written(&o->st, &dec);
	if (o->st.written < 0 && o->recorded[0]) {
		/* Back at the host's own value: nothing left to restore. */
		o->recorded[0] = '\0';
		(void)knob_file_write(o);
	}
	tierd_event(LOG_NOTICE, TIERD_MID_KNOB, f, 2, "wrote %s to /%s: %s", value, TIERD_KNOB_DEMOTION, dec.reason);
	tierd_record_action(d, "demotion", TIERD_KNOB_DEMOTION, value, dec.reason, 0);
	return 0;
}

int tierd_owner_restore(struct tierd_owner *o, struct tierd *d, const char *why)
{
	int failed = 0;
	if (o->st.written >= 0 && !o->st.written_dry && o->recorded[0]) {
		int r = o->knob_writable ? tier_attr_pwrite(&o->knob, o->recorded) : -EROFS;
		struct tierd_field f[2];
		tierd_field_set(&f[0], "TIERD_KEY", "%s", TIERD_KNOB_DEMOTION);
		tierd_field_set(&f[1], "TIERD_VALUE", "%s", o->recorded);
		if (r == 0) {
			tierd_event(LOG_NOTICE, TIERD_MID_RESTORE, f, 2, "restored %s to '%s' (%s)", TIERD_KNOB_DEMOTION,
				    o->recorded, why);
			tierd_record_action(d, "restore", TIERD_KNOB_DEMOTION, o->recorded, "restore original", 0);
			o->st.written = -1;
			o->recorded[0] = '\0';
		} else {
			log_error("cannot restore %s to '%s': %s; %s/%s keeps it for the next start", TIERD_KNOB_DEMOTION,
				  o->recorded, strerror(-r), d->state_dir, TIERD_KNOB_STATE_FILE);
			failed = 1;
		}
	}
	if (o->file_fd >= 0) {
		if (failed)
			(void)knob_file_write(o);
		else if (unlinkat(d->statefd, TIERD_KNOB_STATE_FILE, 0) < 0 && errno != ENOENT)
			log_warning("cannot remove %s/%s: %s", d->state_dir, TIERD_KNOB_STATE_FILE, strerror(errno));
	}
	return failed;
}

void tierd_owner_close(struct tierd_owner *o)
{
	tier_attr_close(&o->knob);
	if (o->file_fd >= 0)
		close(o->file_fd);
	o->file_fd = -1;
}
