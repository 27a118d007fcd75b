#!/bin/sh
# The layers of doc/DESIGN.md, checked on the includes: the core
# (src/core/) includes nothing outside itself, a back end (src/fallback/,
# src/htm/) includes only its own directory and the core, never the front
# (src/stm/) nor the other back end.
src=${srcdir:-.}/src
status=0
check() {
    # $1: description; the rest: grep -E pattern and files
    what=$1
    shift
    hits=$(grep -nE "$@" 2>/dev/null)
    if [ -n "$hits" ]; then
        echo "layer violation ($what):"
        echo "$hits"
        status=1
    fi
}
check "the core includes a layer above it" '#include "\.\./' "$src"/core/*.[ch]
check "src/fallback includes the front or src/htm" '#include "\.\./(stm|htm)/' "$src"/fallback/*.[ch]
check "src/htm includes the front or src/fallback" '#include "(\.\./)+(stm|fallback)/' \
    "$src"/htm/*.[ch] "$src"/htm/*/*.[ch]
[ $status -eq 0 ] && echo "layers: core <- back ends <- front, as doc/DESIGN.md says"
exit $status
