# Sourced by the device scripts (see bundle.sh) once they have set `here`, their folder:
#
#   source "$here/preamble.sh" LOG [append]
#
# sets `out` ($OUT, default /tmp/strata-out) and `files` (/tmp/strata-bench, the generated model files) and makes both,
# sources the pack's setup.sh, copies stdout and stderr to $out/LOG (appended to with `append`, else overwritten), and
# defines `stamp TEXT`, which prints a section heading with the seconds since.
out=${OUT:-/tmp/strata-out}
files=/tmp/strata-bench
mkdir -p "$out" "$files"
source "$here/setup.sh"
if [ "${2:-}" = append ]; then
  exec > >(tee -a "$out/$1") 2>&1
else
  exec > >(tee "$out/$1") 2>&1
fi
started=$SECONDS
stamp() { echo "== $* ($((SECONDS - started)) s)"; }
