#ifndef CURLASIO_SRC_DETAIL_QUERY_ENCODING_HPP
#define CURLASIO_SRC_DETAIL_QUERY_ENCODING_HPP

// The encoders behind request::add_query and request::set_form: sans-io,
// over Boost.URL (which stays out of the public headers), unit tested in
// test/unit/query_encoding_test.cpp.
//
// Both keep only RFC 3986 unreserved characters (ALPHA DIGIT - . _ ~) as they
// are and percent-encode every other byte (UTF-8 byte by byte), so '&', '=',
// '+', '#', '%' and '/' in a name or value always arrive as themselves, also
// at a server that decodes the query as a form (where '+' means space).
// Boost.URL's own params().append leaves '+' alone, which such a server would
// read as a space: hence encode() with unreserved_chars, then
// encoded_params().append.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace curlasio::detail {

enum class space_as { percent20, plus };

/// `s` percent-encoded: unreserved characters kept, spaces as `spaces`.
std::string url_encode(std::string_view s, space_as spaces);

/// application/x-www-form-urlencoded: name=value pairs joined with '&',
/// spaces as '+' (the WHATWG URL standard's form serializer, which browsers
/// use); an empty list gives "".
std::string form_urlencode(const std::vector<std::pair<std::string, std::string>>& fields);

/// Appends name=value (spaces as %20, valid in a query for RFC 3986 and for
/// form decoders alike) to the query of `url`, keeping what is there and
/// any fragment. False, and `url` untouched, when `url` does not parse as
/// an RFC 3986 URI reference; `why` then holds Boost.URL's reason.
bool append_query(std::string& url, std::string_view name, std::string_view value, std::string& why);

} // namespace curlasio::detail

#endif
