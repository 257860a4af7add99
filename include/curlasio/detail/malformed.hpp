#ifndef CURLASIO_DETAIL_MALFORMED_HPP
#define CURLASIO_DETAIL_MALFORMED_HPP

// Why a request is refused before anything is sent (errc::invalid_request),
// one value per reason, so that response::error_message can say which field
// was wrong.

#include <curlasio/error.hpp>
#include <curlasio/request.hpp>

#include <cstddef>
#include <string_view>

namespace curlasio::detail {

enum class malformed : unsigned char {
    none,
    method_control,
    method_empty,
    method_space,
    method_not_token,
    url_control,
    user_agent_control,
    header_name_empty,
    header_name_control,
    header_name_colon,
    header_value_control,
    credentials_control,
    url_unparsable,
    part_field_control,
};

/// What request::why_malformed() says for each, in enum order.
inline constexpr std::string_view malformed_text[] = {
    "",
    "the method holds CR, LF or NUL",
    "the method is empty",
    "the method holds a space",
    "the method is not an RFC 9110 token (letters, digits and !#$%&'*+-.^_`|~ only)",
    "the URL holds CR, LF or NUL",
    "the user agent holds CR, LF or NUL",
    "a header name is empty",
    "a header name holds CR, LF or NUL",
    "a header name holds ':'",
    "a header value holds CR, LF or NUL",
    "a user name, password or bearer token holds CR, LF or NUL",
    "add_query was given a URL that does not parse as an RFC 3986 URI reference",
    "a multipart part's name, content type, filename, file path or header holds CR, LF or NUL, or a part "
    "header name is empty or holds ':'",
};
inline constexpr std::size_t malformed_count = std::size(malformed_text);

/// The first thing wrong with `req`, checked in field order.
malformed find_malformed(const request& req) noexcept;

} // namespace curlasio::detail

#endif
