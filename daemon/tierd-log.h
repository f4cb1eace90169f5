/* SPDX-License-Identifier: MIT */
#pragma once
/*
 * tierd's logging.  Under systemd (stderr is the journal stream, JOURNAL_STREAM
 * matches it) every message goes through sd_journal_send with PRIORITY, an
 * optional MESSAGE_ID per event kind and TIERD_* fields.  Elsewhere (a
 * terminal, the VM initramfs, tests) it is a plain line on stderr with a "<N>"
 * syslog priority prefix, fields appended as key=value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <syslog.h>

/* MESSAGE_IDs, one per event kind (journalctl MESSAGE_ID=...). */
#define TIERD_MID_STARTED      "577aa9409c6c4d2db727f91c1cffb35f"
#define TIERD_MID_STOPPED      "b016c171a8034201b4c75545b2c4ce5a"
#define TIERD_MID_RELOAD       "05c158ad77bf48b186ce25aac0470cb8"
#define TIERD_MID_KNOB         "73cfe3be7a5843c4829307b0df5a7d15" /* a knob written */
#define TIERD_MID_RESTORE      "9a76cef60de74a02b51b671ffa41d518" /* a setting restored */
#define TIERD_MID_GUARD        "8cadf2fe4c494d78b0ad8b97340ad0a5" /* guard trip / release */
#define TIERD_MID_TOPOLOGY     "5507689b42554f1c8e093c41cc1843f2"
#define TIERD_MID_FENCE        "6c20eebf24d8442c932ded3dc5063068" /* fencing writes, evictions */
#define TIERD_MID_CONTROL      "3cfdcf8e48bf471ea587b2be3f3c5c92" /* control request that changed state */

/* A structured field: key without the TIERD_ prefix is not allowed; keys are
 * journal field names such as "TIERD_NODE". */
struct tierd_field {
	const char *key;
	char value[96];
};

void tierd_log_set_level(int level);
int tierd_log_get_level(void);
/* Decide journal vs stderr once at start (after argument parsing). */
void tierd_log_open(void);

void tierd_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tierd_logv(int prio, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* An event with a MESSAGE_ID and fields (nfields may be 0). */
void tierd_event(int prio, const char *message_id, const struct tierd_field *fields, size_t nfields,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Fill a field: tierd_field_set(&f, "TIERD_NODE", "%d", 1). */
void tierd_field_set(struct tierd_field *f, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_error(...) tierd_log(LOG_ERR, __VA_ARGS__)
#define log_warning(...) tierd_log(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) tierd_log(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) tierd_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...) tierd_log(LOG_DEBUG, __VA_ARGS__)
