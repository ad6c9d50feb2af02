#!/bin/sh
# reprint demo (`make demo`): find near-duplicates in a real corpus.
#
#  1. Corpus: the Debian package git-doc (about 2 MB, fetched with
#     `apt-get download`, unpacked with dpkg-deb -x), whose ~290 AsciiDoc
#     sources (.txt) are the English Git manual pages, how-tos and technical
#     notes.  Fragments under 1 KB (command lists, include snippets) are left
#     out; the HTML renderings and the (non-prose) changelogs are not used.
#  2. Planted copies in corpus/planted/, edited the way reprints are edited:
#       exact     byte-identical copy
#       curly     curly quotes, dashes and ellipses, lines re-wrapped at 60
#       headline  a new headline line on top and a footer line at the end
#       cut       one paragraph removed
#       words1    about 1% of the words replaced
#       words3    about 3% of the words replaced -- heavily edited on purpose:
#                 with 5-word shingles each changed word breaks up to 5
#                 shingles, so its Jaccard is about 0.75, below the 0.8
#                 threshold, and it is not expected to be found
#     plus one unrelated document, which must not be found.  The list, with
#     an exact 5-word-shingle Jaccard computed independently in awk, is
#     written to build/demo/planted.txt.
#  3. `build/reprint dedup`, then the clusters, printed for a person, and a
#     check: every planted copy not expected below 0.8 must be in the cluster
#     of its original, and the unrelated document in none.  Exit 1 if not.
#
# POSIX sh; needs only Debian base tools (awk, sed, fmt, find, dpkg-deb) and
# apt-get.  Run from the project root; REPRINT=path runs another binary.
# Idempotent: the download is kept, everything else under build/demo is
# rebuilt each run (a couple of seconds).
# shellcheck disable=SC2317 # the edit_* functions are called as "edit_$kind"
set -eu

cd "$(dirname "$0")/.."
PKG=git-doc
DEMO=build/demo
BIN=${REPRINT:-build/reprint}
SRC="$DEMO/pkg/usr/share/doc/$PKG"
CORPUS="$DEMO/corpus"
PLANTED="$CORPUS/planted"
LIST="$DEMO/planted.txt"

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

start=$(now)
[ -x "$BIN" ] || die "$BIN is missing; run 'make demo' (or 'make' and then 'sh scripts/demo.sh')"
mkdir -p "$DEMO"

# --- 1. Download and unpack ---------------------------------------------------
download() {
	(cd "$DEMO" && apt-get -q download "$PKG") >>"$DEMO/download.log" 2>&1
}
first_deb() {
	for f in "$DEMO/$PKG"_*.deb; do [ -f "$f" ] && echo "$f" && return; done
	return 0
}
deb=$(first_deb)
if [ -n "$deb" ] && ! dpkg-deb --info "$deb" >/dev/null 2>&1; then
	say "$deb is damaged (an interrupted download?); downloading it again"
	rm -f "$deb"
	deb=
fi
if [ -z "$deb" ]; then
	say "downloading the Debian package $PKG (about 2 MB) with apt-get download"
	: >"$DEMO/download.log"
	if ! download; then
		say "download failed; running apt-get update and trying again"
		[ "$(id -u)" = 0 ] || die "not root: run 'sudo apt-get update', then try again (log: $DEMO/download.log)"
		apt-get -q update >>"$DEMO/download.log" 2>&1 || { cat "$DEMO/download.log" >&2; die "apt-get update failed"; }
		download || { cat "$DEMO/download.log" >&2; die "apt-get download $PKG failed"; }
	fi
	deb=$(first_deb)
	[ -n "$deb" ] || die "apt-get download $PKG left no .deb in $DEMO"
else
	say "using $deb (downloaded before)"
fi
rm -rf "$DEMO/pkg" "$CORPUS"
dpkg-deb -x "$deb" "$DEMO/pkg" || die "cannot unpack $deb"
[ -d "$SRC" ] || die "$deb has no $SRC"

# The AsciiDoc sources of at least 1 KB, as plain-text documents.
mkdir -p "$CORPUS"
(cd "$SRC" && find . -type f -name '*.txt' -size +1023c | sort) >"$DEMO/docs.txt"
abs="$(pwd)/$CORPUS"
(cd "$SRC" && xargs cp --parents -t "$abs") <"$DEMO/docs.txt"
ndocs=$(wc -l <"$DEMO/docs.txt")
[ "$ndocs" -ge 100 ] || die "only $ndocs documents in $deb"
say "corpus: $ndocs documents from $(basename "$deb") in $CORPUS"

# --- 2. Planted copies ----------------------------------------------------------
mkdir -p "$PLANTED"

# Each edit reads $1 and writes stdout.
edit_exact() { cat "$1"; }
edit_curly() {
	sed -e 's/"\([^"]*\)"/“\1”/g' -e "s/'/’/g" -e 's/ -- / — /g' -e 's/\.\.\./…/g' "$1" | rewrap
}
# Re-wrap runs of prose lines (same indentation, starting with a letter, no
# AsciiDoc "::") at 60 columns; leave headings, lists, code and markup alone.
rewrap() {
	awk 'function flush(   i, out) {
		if (!nw) return
		out = ind w[1]
		for (i = 2; i <= nw; i++)
			if (length(out) + 1 + length(w[i]) > 60) { print out; out = ind w[i] }
			else out = out " " w[i]
		print out; nw = 0
	}
	{ match($0, /^[ \t]*/); lead = substr($0, 1, RLENGTH) }
	$0 ~ /^[ \t]*[A-Za-z(`“]/ && $0 !~ /::/ {
		if (nw && lead != ind) flush()
		if (!nw) ind = lead
		for (i = 1; i <= NF; i++) w[++nw] = $i
		next
	}
	{ flush(); print }
	END { flush() }'
}
edit_headline() {
	printf 'REPOSTED FROM THE GIT MANUAL: %s\n\n' "$(basename "$1" .txt)"
	cat "$1"
	printf '\nCopyright 2024 Example Docs Mirror. Found an error? Write to docs@example.org.\n'
}
# Remove the middle one of the paragraphs (blank-line separated) with >= 20 words.
edit_cut() {
	awk 'NR == FNR {
		if ($0 ~ /^[ \t]*$/) { inpar = 0; next }
		if (!inpar) { np++; first[np] = FNR; inpar = 1 }
		last[np] = FNR; words[np] += NF; next
	}
	FNR == 1 {
		for (i = 1; i <= np; i++) if (words[i] >= 20) big[++nb] = i
		if (nb == 0) { from = to = 0 }
		else { p = big[int((nb + 1) / 2)]; from = first[p]; to = last[p] + 1 }
	}
	FNR >= from && FNR <= to && (FNR < to || $0 ~ /^[ \t]*$/) { next }
	{ print }' "$1" "$1"
}
# Replace PCT% of the words (chosen at random among words of 3+ letters).
edit_words() {
	awk -v pct="$2" -v seed="$3" '
	NR == FNR {
		s = $0
		while (match(s, /[A-Za-z0-9]+/)) {
			total++
			w = substr(s, RSTART, RLENGTH)
			if (RLENGTH >= 3 && w !~ /[0-9]/) eligible++
			s = substr(s, RSTART + RLENGTH)
		}
		next
	}
	FNR == 1 {
		srand(seed); need = int(total * pct / 100 + 0.5); left = eligible
		nr = split("system value change record output branch remote option history ordinary network program author default careful number result", R, " ")
	}
	{
		s = $0; out = ""
		while (match(s, /[A-Za-z0-9]+/)) {
			w = substr(s, RSTART, RLENGTH)
			out = out substr(s, 1, RSTART - 1)
			if (RLENGTH >= 3 && w !~ /[0-9]/) {
				if (rand() * left < need) {
					i = int(rand() * nr) + 1
					if (R[i] == tolower(w)) i = i % nr + 1
					w = R[i]; need--; changed++
				}
				left--
			}
			out = out w
			s = substr(s, RSTART + RLENGTH)
		}
		print out s
	}
	END { printf "%d of %d words changed\n", changed, total > "/dev/stderr" }' "$1" "$1"
}
edit_words1() { edit_words "$1" 1 11; }
edit_words3() { edit_words "$1" 3 33; }

# Exact Jaccard of the 5-word-shingle sets of two files (simple tokenizer:
# ASCII letters and digits, lower case), for the record in planted.txt.
jaccard() {
	awk -v n=5 'FNR == 1 { f++; t = 0 }
	{
		s = tolower($0); gsub(/[^a-z0-9]+/, " ", s)
		m = split(s, w, " ")
		for (i = 1; i <= m; i++) {
			tok[f, ++t] = w[i]
			if (t >= n) {
				sh = tok[f, t - n + 1]
				for (j = t - n + 2; j <= t; j++) sh = sh " " tok[f, j]
				if (f == 1) A[sh] = 1; else B[sh] = 1
			}
		}
		ntok[f] = t
	}
	END {
		for (g = 1; g <= 2; g++) if (ntok[g] > 0 && ntok[g] < n) {
			sh = tok[g, 1]; for (j = 2; j <= ntok[g]; j++) sh = sh " " tok[g, j]
			if (g == 1) A[sh] = 1; else B[sh] = 1
		}
		for (k in A) { na++; if (k in B) both++ }
		for (k in B) nb++
		u = na + nb - both
		printf "%.2f\n", (u > 0 ? both / u : 1)
	}' "$1" "$2"
}

describe() {
	case $1 in
	exact) echo "exact copy" ;;
	curly) echo "curly quotes, re-wrapped at 60 columns" ;;
	headline) echo "new headline and footer lines" ;;
	cut) echo "one paragraph removed" ;;
	words1) echo "1% of words replaced" ;;
	words3) echo "3% of words replaced (heavily edited)" ;;
	esac
}

# Ten originals of 4-30 KB, evenly spaced in name order; the first gets every
# edit, the other nine one each.
(cd "$CORPUS" && find . -path ./planted -prune -o -type f -size +3999c -size -30001c -print | sed 's|^\./||' | sort) |
	awk '{ a[NR] = $0 } END { for (k = 1; k <= 10 && NR > 0; k++) print a[1 + int((k - 0.5) * NR / 10)] }' >"$DEMO/originals.txt"
kinds="curly headline cut words1 exact words3"
printf '# copy\toriginal\tkind\texpect\texact_jaccard\tdescription\n' >"$LIST"
i=0
while read -r orig; do
	i=$((i + 1))
	if [ $i = 1 ]; then
		mine=$kinds
	else
		mine=$(echo "$kinds" | cut -d' ' -f$(((i - 2) % 6 + 1)))
	fi
	base=$(echo "$orig" | sed 's|/|_|g; s|\.txt$||')
	for kind in $mine; do
		copy="$PLANTED/$base--$kind.txt"
		"edit_$kind" "$CORPUS/$orig" >"$copy" 2>"$DEMO/edit.log"
		expect=found
		[ "$kind" = words3 ] && expect=below
		note=$(describe "$kind")
		[ -s "$DEMO/edit.log" ] && note="$note: $(cat "$DEMO/edit.log")"
		j=$(jaccard "$CORPUS/$orig" "$copy")
		printf '%s\t%s\t%s\t%s\t%s\t%s\n' "corpus/planted/$base--$kind.txt" "corpus/$orig" "$kind" "$expect" "$j" "$note" >>"$LIST"
	done
done <"$DEMO/originals.txt"
rm -f "$DEMO/edit.log"

cat >"$PLANTED/unrelated-bread-recipe.txt" <<'EOF'
A simple country loaf

Mix five hundred grams of bread flour with three hundred and fifty grams of
lukewarm water and leave the dough to rest for half an hour. Add ten grams of
salt and a spoonful of active starter, then fold the dough every thirty
minutes for the next two hours, until it feels smooth, airy and strong.

Shape the dough into a tight round, dust it with rice flour and let it rise in
a floured basket overnight in the refrigerator. In the morning, heat the oven
with a heavy cast iron pot inside to two hundred and fifty degrees.

Turn the loaf out onto baking paper, score the top with a sharp blade and bake
it covered for twenty minutes, then uncovered for another twenty five, until
the crust is deep brown and the bottom sounds hollow when tapped. Let it cool
for at least an hour before cutting, or the crumb will be gummy.
EOF
printf '%s\t%s\t%s\t%s\t%s\t%s\n' "corpus/planted/unrelated-bread-recipe.txt" "-" "unrelated" "alone" "-" "unrelated document" >>"$LIST"
nplanted=$(grep -c -v '^#' "$LIST")
say "planted $((nplanted - 1)) edited copies of 10 documents and 1 unrelated document in $PLANTED (list: $LIST)"

# --- 3. Deduplicate -------------------------------------------------------------
say "running: $BIN dedup $CORPUS -o $DEMO/clusters.jsonl --pairs $DEMO/pairs.jsonl --stats $DEMO/stats.json"
t1=$(now)
if ! "$BIN" dedup "$CORPUS" -o "$DEMO/clusters.jsonl" --pairs "$DEMO/pairs.jsonl" --stats "$DEMO/stats.json" 2>"$DEMO/dedup.log"; then
	cat "$DEMO/dedup.log" >&2
	die "$BIN dedup failed"
fi
dedup_s=$(since "$t1")
cat "$DEMO/dedup.log"
echo

# --- 4. Clusters, for a person, and the check -----------------------------------
status=0
awk -v list="$LIST" -v pairsfile="$DEMO/pairs.jsonl" '
# The value of "key" in a JSON Lines record: a string (unescaped) or a bare token.
function jget(line, key,    p, s, c, v) {
	p = index(line, "\"" key "\":")
	if (!p) return ""
	s = substr(line, p + length(key) + 3)
	sub(/^[ \t]*/, "", s)
	if (substr(s, 1, 1) != "\"") { sub(/[,}].*$/, "", s); gsub(/[ \t]/, "", s); return s }
	v = ""
	for (p = 2; p <= length(s); p++) {
		c = substr(s, p, 1)
		if (c == "\\") { p++; c = substr(s, p, 1); if (c == "n") c = "\n"; else if (c == "t") c = "\t" }
		else if (c == "\"") break
		v = v c
	}
	return v
}
function short(id) { gsub(/\/\/+/, "/", id); sub(/^(\.\/)?build\/demo\//, "", id); return id }
BEGIN {
	FS = "\t"
	while ((getline line < list) > 0) {
		if (line ~ /^#/) continue
		split(line, f, "\t")
		copy = f[1]; planted[copy] = 1; norig[copy] = f[2]; kind[copy] = f[3]
		expect[copy] = f[4]; exact[copy] = f[5]; desc[copy] = f[6]; order[++np] = copy
		if (f[2] != "-") isorig[f[2]] = 1
	}
	close(list)
	while ((getline line < pairsfile) > 0) {
		a = short(jget(line, "a")); b = short(jget(line, "b"))
		pj[a SUBSEP b] = pj[b SUBSEP a] = jget(line, "jaccard")
	}
	close(pairsfile)
}
{
	id = short(jget($0, "id")); n++
	if (index($0, "\"error\":")) { errored++; err[id] = jget($0, "error"); next }
	cl = short(jget($0, "cluster")); cluster[id] = cl; sim[id] = jget($0, "similarity")
	if (!(cl in size)) { size[cl] = 0 }
	size[cl]++
	if (jget($0, "duplicate") == "true") { members[cl] = members[cl] SUBSEP id; dups++ }
	if (!(cl in seen)) { seen[cl] = 1; corder[++nc] = cl }
}
END {
	if (n == 0) { print "demo: error: no output records" > "/dev/stderr"; exit 1 }
	print "clusters of near-duplicates (each line: estimated Jaccard similarity to the first document of its cluster; threshold 0.8):"
	m = 0; natural = 0
	for (c = 1; c <= nc; c++) {
		cl = corder[c]
		if (size[cl] < 2) continue
		m++
		tag = ""
		if (isorig[cl]) tag = "   (original of planted copies)"
		else if (cl in planted) tag = "   (planted copy of " norig[cl] ", first in input order)"
		else { tag = "   (duplicates already in the package)"; natural++ }
		printf "cluster %d: %s%s\n", m, cl, tag
		k = split(substr(members[cl], 2), mem, SUBSEP)
		for (i = 1; i <= k; i++) {
			id = mem[i]
			note = ""
			if (id in planted) note = "   planted: " kind[id]
			else if (isorig[id]) note = "   (original)"
			printf "  %.2f  %s%s\n", sim[id], id, note
		}
	}
	if (m == 0) print "(no clusters of duplicates)"
	print ""
	print "planted copies (exact J = exact 5-word-shingle Jaccard to the original, computed in awk):"
	found = 0; expected = 0; bad = 0; below = ""
	for (i = 1; i <= np; i++) {
		copy = order[i]; orig = norig[copy]
		if (kind[copy] == "unrelated") {
			if (!(copy in cluster)) { printf "  MISSING from the output: %s\n", copy; bad++ }
			else if (size[cluster[copy]] > 1) { printf "  WRONG   %s was put in the cluster of %s\n", copy, cluster[copy]; bad++ }
			else printf "  ok      alone        %s (unrelated document)\n", copy
			continue
		}
		if (expect[copy] == "found") expected++
		else below = below (below == "" ? "" : ", ") copy
		if (!(copy in cluster) || !(orig in cluster)) {
			printf "  MISSING from the output: %s or %s\n", copy, orig; bad++; continue
		}
		same = cluster[copy] == cluster[orig]
		# Similarity of the copy to its original: the verified pair if there is
		# one, else the estimate against the representative.
		if ((copy SUBSEP orig) in pj) s = sprintf("%.2f", pj[copy SUBSEP orig])
		else if (cluster[copy] == orig) s = sprintf("%.2f", sim[copy])
		else if (cluster[orig] == copy) s = sprintf("%.2f", sim[orig])
		else if (same) s = sprintf("~%.2f", sim[copy])
		else s = "  -  "
		if (same) { found++; what = "found  "; if (expect[copy] == "below") desc[copy] = desc[copy] ", found although expected below 0.8" }
		else if (expect[copy] == "below") what = "below  "
		else { what = "MISSED "; bad++ }
		printf "  %s %-5s  exact J %s  %s  (%s)\n", what, s, exact[copy], copy, desc[copy]
	}
	print ""
	printf "%d documents, %d clusters of duplicates", n, m
	if (natural) printf " (%d of them already in the package)", natural
	printf ", %d planted copies, %d found", np - 1, found
	if (below != "") printf " (%d expected; below 0.8 on purpose: %s)", expected, below
	printf "\n"
	if (errored) printf "%d documents could not be read\n", errored
	if (bad) { printf "demo: FAILED: %d planted documents not handled as expected\n", bad; exit 1 }
	print "demo: every planted copy expected at or above 0.8 was found; the unrelated document was not"
}' "$DEMO/clusters.jsonl" || status=1

echo
say "dedup took $dedup_s s, the whole demo $(since "$start") s"
say "results: $DEMO/clusters.jsonl, $DEMO/pairs.jsonl, $DEMO/stats.json; planted list: $LIST"
exit $status
