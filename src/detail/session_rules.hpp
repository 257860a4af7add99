#ifndef CURLASIO_SRC_DETAIL_SESSION_RULES_HPP
#define CURLASIO_SRC_DETAIL_SESSION_RULES_HPP

// The session's decisions, with no engine and no socket: where a target
// leads given the base URL, and which default headers a request gets.

#include <curlasio/request.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace curlasio::detail {

/// Whether `url` parses as an absolute URI (a scheme, RFC 3986), the only
/// kind of base URL a session accepts.
bool is_absolute_url(std::string_view url) noexcept;

/// `target` resolved against `base` (RFC 3986 section 5, Boost.URL's
/// resolve): a relative reference ("users/1", "../v2/x", "/root?q=1",
/// "?page=2") is merged with the base and its dot segments removed; a target
/// with a scheme, an empty base, or a target that is no URI reference at all
/// comes back untouched (libcurl then judges it, e.g. CURLE_URL_MALFORMAT).
/// Boost.URL 1.81 keeps a ".." that climbs above the root
/// ("http://h/../x", boostorg/url#808); libcurl drops it when it sends the
/// request, so the server sees "/x" as RFC 3986 says.
std::string resolve_target(std::string_view base, std::string_view target);

/// Appends to `headers` each default whose field name (compared without
/// case) none of the request's own headers has; every default of such a
/// name is added, in order.
void merge_default_headers(std::vector<request::header>& headers,
                           const std::vector<request::header>& defaults);

} // namespace curlasio::detail

#endif
