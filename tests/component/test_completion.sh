#!/usr/bin/env bash
# bash completion of tierctl and tierd (daemon/completion/): installed where
# bash-completion looks, loaded by bash-completion's own on-demand loader
# in an interactive bash, and the candidates checked by calling the
# completion function as readline would (COMP_WORDS/COMP_CWORD): commands,
# options per command, --root directories, --log-level values; and every
# option and command the binaries' --help lists is offered (so the
# completions cannot go stale).
. "$(dirname "$0")/lib.sh"
SRC=${TIER_SOURCE_DIR:?}
BUILD=${TIER_BINARY_DIR:?}

WORK=$(mktemp -d /tmp/tierd-comp-XXXXXX)
# `cmake --install` into a staging dir: the completions land where the
# build says (TIERD_BASH_COMPLETIONSDIR).
DESTDIR=$WORK/stage cmake --install "$BUILD" >"$WORK/install.log" 2>&1 || { cat "$WORK/install.log"; fail "cmake --install"; finish; }
dir=$(sed -n 's/^TIERD_BASH_COMPLETIONSDIR:PATH=//p' "$BUILD/CMakeCache.txt")
check "tierctl completion installed in $dir" [ -f "$WORK/stage$dir/tierctl" ]
check "tierd completion installed in $dir" [ -f "$WORK/stage$dir/tierd" ]
if [[ $(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt") == /usr ]] && pkg-config --exists bash-completion; then
  check "prefix /usr: it is bash-completion's completionsdir" [ "$dir" = "$(pkg-config --variable=completionsdir bash-completion)" ]
fi

# complete WORDS...: the candidates for the last word (empty = a new word),
# one per line, sorted; the completion file comes from the staging dir.
complete_words() {
  local prog=$1
  bash --norc --noprofile -c '
    . "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
    f=$(complete -p "$1" | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
    "$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf "%s\n" "${COMPREPLY[@]}"' _ "$WORK/stage$dir/$prog" "$@" | sort
}
is() { [[ "$(complete_words "${@:2}" | tr '\n' ' ' | sed 's/ $//')" == "$1" ]] || {
  echo "   got: '$(complete_words "${@:2}" | tr '\n' ' ')' want: '$1'"; return 1; }; }

check "tierctl <TAB>: the commands" is "metrics pause reload resume status topology" tierctl ""
check "tierctl st<TAB>: status" is "status" tierctl st
check "tierctl -<TAB>: global options" is "--help --socket --timeout --version -h" tierctl -
check "tierctl topology --<TAB>" is "--help --json --root" tierctl topology --
check "tierctl status --<TAB>" is "--json" tierctl status --
check "tierctl --socket /x status --<TAB>: the command after --socket's value" is "--json" tierctl --socket /x status --
check "tierctl reload <TAB>: nothing" is "" tierctl reload ""
mkdir -p "$WORK/roots/vm-a" "$WORK/roots/vm-b"; : > "$WORK/roots/vm-file"
check "tierctl topology --root <dir>/vm<TAB>: directories only" \
  is "$WORK/roots/vm-a $WORK/roots/vm-b" tierctl topology --root "$WORK/roots/vm"
check "tierctl --socket <dir>/vm<TAB>: files" \
  is "$WORK/roots/vm-a $WORK/roots/vm-b $WORK/roots/vm-file" tierctl --socket "$WORK/roots/vm"
check "tierd --log<TAB>" is "--log-level" tierd --log
check "tierd --log-level <TAB>: the levels" is "alert crit debug emerg err info notice warning" tierd --log-level ""
check "tierd --root <dir>/vm<TAB>: directories only" is "$WORK/roots/vm-a $WORK/roots/vm-b" tierd --root "$WORK/roots/vm"
check "tierd -S <dir>/vm<TAB>: directories only" is "$WORK/roots/vm-a $WORK/roots/vm-b" tierd -S "$WORK/roots/vm"

# Everything --help lists is offered.
want=$("$TIERD" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
got=$(complete_words tierd --)
missing=$(comm -23 <(echo "$want") <(echo "$got"))
check "tierd: every long option of --help is completed${missing:+; missing: $missing}" [ -z "$missing" ]
want=$("$TIERCTL" --help | awk '/^Commands:/ {c = 1; next} /^$/ {c = 0} c && /^  [a-z]/ {print $1}' | sort -u)
got=$(complete_words tierctl "")
check "tierctl: every command of --help is completed ($(echo $want))" [ "$want" = "$got" ]
want=$("$TIERCTL" --help | awk '/^Options:/ {c = 1; next} c' | grep -o -- '--[a-z][a-z-]*' | sort -u)
missing=$(comm -23 <(echo "$want") <(complete_words tierctl -- ))
check "tierctl: every global option of --help is completed${missing:+; missing: $missing}" [ -z "$missing" ]

# bash-completion's on-demand loader finds the file (as a real interactive
# shell would on the first TAB): XDG_DATA_DIRS points at the staging dir.
BC=/usr/share/bash-completion/bash_completion
if [[ -r $BC ]]; then
  out=$(XDG_DATA_DIRS="$WORK/stage${dir%/bash-completion/completions}" HOME=$WORK bash --norc -i -c \
    ". $BC; _completion_loader tierctl; _completion_loader tierd; complete -p tierctl tierd" 2>/dev/null)
  check "bash -i with bash-completion loads both on demand: $(echo $out)" \
    bash -c "grep -qx 'complete -F _tierctl tierctl' <<< '$out' && grep -qx 'complete -F _tierd tierd' <<< '$out'"
else
  echo "SKIP: bash-completion is not installed: the on-demand loader check is not run"
fi
finish
