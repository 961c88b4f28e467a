#!/bin/sh
# pkgversion.sh VERSION prints the package version for VERSION, the output
# of `git describe --always --dirty` (the Makefile's VERSION). Debian and
# rpm versions must start with a digit and sort in build order; '~' sorts
# before everything (so 1.0~rc1 < 1.0 and 0.0.0~git... < any release),
# '+' after (so 1.0+git3.abc > 1.0).
#   v1.2.3               -> 1.2.3
#   v1.2.3-4-gabc1234    -> 1.2.3+git4.abc1234
#   v1.2.0-rc1           -> 1.2.0~rc1
#   abc1234              -> 0.0.0~gitabc1234     (no tag yet: a bare commit)
#   ...-dirty            -> ...+dirty, or .dirty after a '+' or '~git'
#   anything else (dev)  -> 0.0.0~dev
set -eu

v=${1#v}
dirty=
case $v in
*-dirty) dirty=dirty v=${v%-dirty} ;;
esac

if printf '%s\n' "$v" | grep -Eq '^[0-9a-f]{7,40}$'; then
	out=0.0.0~git$v
elif printf '%s\n' "$v" | grep -Eq '^[0-9]'; then
	# TAG-N-gHASH: N commits after TAG.
	out=$(printf '%s\n' "$v" | sed -E 's/-([0-9]+)-g([0-9a-f]+)$/+git\1.\2/')
	# A '-' left belongs to the tag (1.2.0-rc1): a pre-release.
	out=$(printf '%s\n' "$out" | tr - '~')
else
	out=0.0.0~$v
fi

if [ -n "$dirty" ]; then
	case $out in
	*+* | *~git*) out=$out.$dirty ;;
	*) out=$out+$dirty ;;
	esac
fi
# Whatever is left that neither format allows becomes '.'.
printf '%s\n' "$out" | sed -E 's/[^A-Za-z0-9.+~]/./g'
