#!/usr/bin/env bash
# Builds the reference: Doxygen over the public headers (include/curlasio,
# without detail/), the tutorial pages of doc/ and the README as the front
# page, into build-doc/html. Any Doxygen warning fails the run. Installs
# doxygen with apt-get when it is missing (scripts/deps.sh docs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh docs

rm -rf build-doc
mkdir -p build-doc
# FAIL_ON_WARNINGS (doc/Doxyfile) makes doxygen exit non-zero after it has
# reported every warning; the log is kept for a reader of a failed run.
if ! doxygen doc/Doxyfile 2> build-doc/warnings.log; then
    cat build-doc/warnings.log >&2
    echo "docs: doxygen failed (warnings are errors; see build-doc/warnings.log)" >&2
    exit 1
fi
if [[ -s build-doc/warnings.log ]]; then
    cat build-doc/warnings.log >&2
    echo "docs: doxygen warned (see build-doc/warnings.log)" >&2
    exit 1
fi

# A page for every public name the reference promises: a missing one means a
# header lost its documentation or Doxygen stopped seeing it.
missing=0
for page in classcurlasio_1_1engine structcurlasio_1_1engine__options structcurlasio_1_1engine__stats \
            classcurlasio_1_1engine__pool classcurlasio_1_1request structcurlasio_1_1request__options \
            structcurlasio_1_1response classcurlasio_1_1session classcurlasio_1_1cookie__jar \
            structcurlasio_1_1retry__options classcurlasio_1_1download__stream \
            classcurlasio_1_1upload__source structcurlasio_1_1mime__part structcurlasio_1_1beast__fetch__options namespacecurlasio \
            group__async__fetch async__fetch_8hpp beast_8hpp engine__pool_8hpp session_8hpp error_8hpp json_8hpp; do
    [[ -f build-doc/html/$page.html ]] || { echo "docs: no page $page.html" >&2; missing=1; }
done
# The namespace page's summary, one declaration a line, tags stripped.
summary=$(grep -o 'mem\(Templ\)\?ItemRight[^>]*>.*' build-doc/html/namespacecurlasio.html | sed 's/<[^>]*>//g; s/&amp;/\&/g; s/&lt;/</g; s/&gt;/>/g')
for decl in 'async_fetch (engine &eng, request req' 'async_fetch (engine_pool &pool, request req' \
            'async_fetch (const session &s, request req' 'async_fetch (engine &eng, boost::beast::http::request< Body, Fields > &req, boost::beast::http::response' \
            'async_fetch (engine &eng, boost::beast::http::request< Body, Fields > &req, beast_fetch_options' \
            'errc {' 'condition {' 'json_errc {' 'make_error_code (errc e)' 'make_error_condition (condition c)' \
            'is_retryable (' 'set_json (' 'parse_json (const response' 'parse_json (std::string_view' 'remove_hop_by_hop ('; do
    grep -qF "$decl" <<<"$summary" || { echo "docs: the namespace page lacks '$decl'" >&2; missing=1; }
done
# The async_fetch page (a group) holds all seven overloads: engine, pool,
# session, and the four Beast forms.
overloads=$(grep -o 'memTemplItemRight[^>]*>.*' build-doc/html/group__async__fetch.html | sed 's/<[^>]*>//g' |
                grep -c '>curlasio::async_fetch (' || true)
[[ $overloads == 7 ]] || { echo "docs: the async_fetch page has $overloads overloads, not 7" >&2; missing=1; }
((missing == 0)) || exit 1
echo "docs: build-doc/html/index.html"
