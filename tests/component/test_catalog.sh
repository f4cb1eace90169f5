#!/usr/bin/env bash
# The journal message catalog (systemd/catalog/*.catalog): every MESSAGE_ID
# tierd defines (#define TIERD_MID_* in daemon/*.h) has exactly one entry,
# there is no entry for an id tierd does not log, and the real journalctl
# builds its catalog database from the installed files and shows every
# entry (subject, and the text with its fields).
. "$(dirname "$0")/lib.sh"
SRC=${TIER_SOURCE_DIR:?}
BUILD=${TIER_BINARY_DIR:?}
command -v journalctl >/dev/null || skip "journalctl is not installed (systemd)"

WORK=$(mktemp -d /tmp/tierd-comp-XXXXXX)
ids=$(grep -ho '#define TIERD_MID_[A-Z_]* *"[0-9a-f]\{32\}"' "$SRC"/daemon/*.h | grep -o '[0-9a-f]\{32\}' | sort)
check "the sources define MESSAGE_IDs ($(echo "$ids" | wc -l))" [ "$(echo "$ids" | wc -l)" -ge 10 ]
check "no MESSAGE_ID is defined twice" [ -z "$(echo "$ids" | uniq -d)" ]
entries=$(grep -ho '^-- [0-9a-f]\{32\}$' "$SRC"/systemd/catalog/*.catalog | cut -c4- | sort)
missing=$(comm -23 <(echo "$ids") <(echo "$entries"))
stale=$(comm -13 <(echo "$ids") <(echo "$entries"))
check "every MESSAGE_ID has a catalog entry${missing:+; missing: $missing}" [ -z "$missing" ]
check "no entry for an id tierd does not define${stale:+: $stale}" [ -z "$stale" ]
check "no entry twice" [ -z "$(echo "$entries" | uniq -d)" ]

# Installed as the build installs it, then journalctl --root on the staging
# tree: the same parser journalctl -x uses.
DESTDIR=$WORK/stage cmake --install "$BUILD" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "cmake --install"; finish; }
cdir=$(sed -n 's/^TIERD_CATALOGDIR:PATH=//p' "$BUILD/CMakeCache.txt")
check "catalog installed in $cdir" [ -f "$WORK/stage$cdir/tierd.catalog" ]
# journalctl reads /usr/lib/systemd/catalog under --root whatever the prefix
mkdir -p "$WORK/root/usr/lib/systemd/catalog"
cp "$WORK/stage$cdir"/*.catalog "$WORK/root/usr/lib/systemd/catalog/"
journalctl --root="$WORK/root" --update-catalog > "$WORK/update.log" 2>&1 && rc=0 || rc=$?
check "journalctl --update-catalog accepts it (rc $rc, no warning)" [ $rc -eq 0 -a ! -s "$WORK/update.log" ]
journalctl --root="$WORK/root" --list-catalog > "$WORK/list.txt"
listed=$(awk '{print $1}' "$WORK/list.txt" | sort)
check "journalctl --list-catalog lists every id" [ "$listed" = "$ids" ]
for id in $ids; do
  journalctl --root="$WORK/root" --dump-catalog "$id" > "$WORK/e.txt" 2>&1
  subj=$(sed -n 's/^Subject: //p' "$WORK/e.txt")
  words=$(sed '1,/^$/d' "$WORK/e.txt" | wc -w)
  check "entry $id: a subject ('$subj'), Defined-By tierd, Documentation, and an explanation ($words words)" \
    bash -c "[ -n '$subj' ] && grep -qx 'Defined-By: tierd' '$WORK/e.txt' && grep -q '^Documentation: man:' '$WORK/e.txt' && [ $words -ge 40 ]"
done
finish
