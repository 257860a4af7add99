#ifndef CURLASIO_ERROR_HPP
#define CURLASIO_ERROR_HPP

/// @file
/// Error codes and conditions: categories curl.easy, curl.multi and curlasio,
/// curlasio::errc, curlasio::condition, is_retryable.

// Error codes. libcurl's own codes are wrapped as they are (no re-listing of
// every CURLE_*): an error_code in category "curl.easy" holds a CURLcode, one in
// "curl.multi" a CURLMcode, and both enums are Boost.System error-code enums,
// so `ec == CURLE_COULDNT_CONNECT` works. curlasio's own failures are
// curlasio::errc; curlasio::condition groups codes of all three categories
// for callers who do not want to know libcurl's codes.

#include <boost/system/error_code.hpp>

#include <curl/curl.h>

#include <type_traits>

namespace curlasio {

using boost::system::error_code;

/// Conditions detected by curlasio itself, not by libcurl.
///
/// @see @ref md_doc_faults "Defaults and faults"
enum class errc {
    /// A header name or value, the user agent, the method or the URL holds CR,
    /// LF or NUL, the method is empty, holds a space or is otherwise not an
    /// RFC 9110 token, a header name is empty or holds ':', request::add_query
    /// met a URL that does not parse, or a multipart part's name, filename,
    /// type or header holds CR, LF or NUL; refused before
    /// anything is sent. The error_code's
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
    /// The engine's admission queue held engine_options::max_queued_transfers
    /// fetches already; nothing was sent.
    queue_full,
    /// An upload_source (or a Beast body writer) with a known size ended
    /// before delivering that many bytes: the peer was promised a
    /// Content-Length the body did not reach, so the transfer is failed.
    upload_size_mismatch,
    /// An upload_source's read reported more bytes than the buffer it was
    /// handed holds; none of that read is sent.
    upload_overrun,
    /// A Beast fetch's response head holds a field that a Beast message
    /// cannot hold: a name or a value of 65 534 bytes or more (basic_fields
    /// keeps sizes in 16 bits; libcurl accepts header lines up to 100 KiB).
    /// The transfer is aborted at the head; nothing of the body is read.
    /// Not headers_too_large, which is a limit the caller set or libcurl's.
    head_not_representable,
};

/// Classes of failure, as Boost.System error conditions: `ec ==
/// condition::timed_out` is true for every code of that class, whatever its
/// category. The codes classified are those of "curl.easy" (a CURLcode);
/// "curl.multi" and curlasio::errc codes belong to none of these classes; of
/// any other category, a code whose default_error_condition() is
/// boost::system::errc::timed_out is timed_out and transient.
///
/// @see @ref md_doc_faults "Defaults and faults"
enum class condition {
    /// No connection could be made to the server or proxy
    /// (CURLE_COULDNT_CONNECT: refused, unreachable, connect timeout on some
    /// systems).
    connect_failed = 1,
    /// A deadline passed: request_options::timeout, connect_timeout, the
    /// low-speed window (CURLE_OPERATION_TIMEDOUT), or any code whose
    /// default_error_condition() is boost::system::errc::timed_out.
    timed_out,
    /// TLS failed: handshake, certificate or host verification, pinning,
    /// client certificate, CA or CRL file (CURLE_SSL_*,
    /// CURLE_PEER_FAILED_VERIFICATION, CURLE_USE_SSL_FAILED).
    tls,
    /// A host or proxy name did not resolve (CURLE_COULDNT_RESOLVE_HOST,
    /// CURLE_COULDNT_RESOLVE_PROXY).
    dns,
    /// Trying the same request again may succeed: connect failures, send and
    /// receive errors (resets), a peer that closed without answering or
    /// mid-body, an HTTP/2 stream reset, timeouts. Not DNS, TLS, malformed
    /// requests, limits, cancellation or callback failures. An HTTP status
    /// (502, 503, 504) is not an error_code and so is never one of these.
    transient,
};

/// Category "curlasio.condition": values are curlasio::condition.
const boost::system::error_category& curlasio_condition_category() noexcept;

/// The error_condition for `c` (what `ec == condition::...` compares with).
inline boost::system::error_condition make_error_condition(condition c) noexcept {
    return {static_cast<int>(c), curlasio_condition_category()};
}

/// True when the same request may succeed if sent again (`ec ==
/// condition::transient`); false for success. Whether sending it again is
/// safe (idempotent method, no streaming body) is the caller's decision.
/// Thread safety: may be called from any thread.
bool is_retryable(const error_code& ec) noexcept;

/// Category "curl.easy": values are CURLcode.
const boost::system::error_category& curl_easy_category() noexcept;
/// Category "curl.multi": values are CURLMcode.
const boost::system::error_category& curl_multi_category() noexcept;
/// Category "curlasio": values are curlasio::errc.
const boost::system::error_category& curlasio_category() noexcept;

/// The error_code for `e`, in curlasio_category().
inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), curlasio_category()}; }

} // namespace curlasio

// CURLcode and CURLMcode live in the global namespace, so that is where
// argument-dependent lookup (from error_code's converting constructor) finds
// their make_error_code; curlasio:: names the same functions.
/// The error_code for `c`, in curl_easy_category() (`ec == CURLE_...` works).
inline boost::system::error_code make_error_code(CURLcode c) noexcept {
    return {static_cast<int>(c), curlasio::curl_easy_category()};
}
/// The error_code for `c`, in curl_multi_category().
inline boost::system::error_code make_error_code(CURLMcode c) noexcept {
    return {static_cast<int>(c), curlasio::curl_multi_category()};
}

namespace curlasio {
using ::make_error_code;
} // namespace curlasio

/// @cond
template <>
struct boost::system::is_error_code_enum<curlasio::errc> : std::true_type {};
template <>
struct boost::system::is_error_code_enum<CURLcode> : std::true_type {};
template <>
struct boost::system::is_error_code_enum<CURLMcode> : std::true_type {};
template <>
struct boost::system::is_error_condition_enum<curlasio::condition> : std::true_type {};
/// @endcond

#endif
