#ifndef CURLASIO_ERROR_HPP
#define CURLASIO_ERROR_HPP

// Error codes. libcurl's own codes are wrapped as they are (no re-listing of
// every CURLE_*): an error_code in category "curl.easy" holds a CURLcode, one in
// "curl.multi" a CURLMcode. curlasio's own conditions are curlasio::errc.

#include <boost/system/error_code.hpp>

#include <curl/curl.h>

#include <type_traits>

namespace curlasio {

using boost::system::error_code;

/// Conditions detected by curlasio itself, not by libcurl.
enum class errc {
    /// A header name or value, the user agent, the method or the URL holds CR,
    /// LF or NUL, the method is empty or holds a space, or a header name is
    /// empty or holds ':'; refused before anything is sent. The error_code's
    /// message() says which (as request::why_malformed() does); it compares
    /// equal to errc::invalid_request whatever the reason.
    invalid_request = 1,
    /// The response body exceeded request_options::limits.max_response_size.
    response_too_large,
    /// libcurl could not create an easy handle (out of memory), or no file
    /// descriptor was left for the engine to watch a socket with.
    out_of_resources,
    /// A user callback (request::on_body, request::on_progress, a curl_options
    /// setter) threw. The transfer is aborted; the exception is in
    /// response::callback_exception.
    callback_threw,
    /// The response head exceeded limit_options::max_header_size, or one of
    /// libcurl's own limits on response heads (see limit_options::max_header_size).
    headers_too_large,
    /// The request head (URL, header fields, user agent, and a body under
    /// 64 KiB, which libcurl sends along over HTTP/1) would not fit in
    /// libcurl's 1 MiB request buffer; refused before anything is sent.
    request_too_large,
    /// async_fetch on an engine that was moved from.
    engine_moved_from,
    /// An upload_source given to a second transfer while it still feeds one
    /// (a source is read once).
    upload_in_use,
    /// A second read (or open) on a download_stream while one is pending.
    operation_in_progress,
    /// A read on a download_stream that is not open (never opened, closed,
    /// or moved from).
    stream_not_open,
};

/// Category "curl.easy": values are CURLcode.
const boost::system::error_category& curl_easy_category() noexcept;
/// Category "curl.multi": values are CURLMcode.
const boost::system::error_category& curl_multi_category() noexcept;
/// Category "curlasio": values are curlasio::errc.
const boost::system::error_category& curlasio_category() noexcept;

inline error_code make_error_code(errc e) noexcept {
    return {static_cast<int>(e), curlasio_category()};
}
inline error_code make_error_code(CURLcode c) noexcept {
    return {static_cast<int>(c), curl_easy_category()};
}
inline error_code make_error_code(CURLMcode c) noexcept {
    return {static_cast<int>(c), curl_multi_category()};
}

} // namespace curlasio

template <>
struct boost::system::is_error_code_enum<curlasio::errc> : std::true_type {};

#endif
