#ifndef CURLASIO_REQUEST_HPP
#define CURLASIO_REQUEST_HPP

/// @file
/// curlasio::request: what one transfer sends, and transfer_progress.

// curlasio::request: a value type describing one HTTP transfer. Copyable,
// movable, independent of any engine; async_fetch copies what it needs.

#include <curlasio/method.hpp>
#include <curlasio/multipart.hpp>
#include <curlasio/request_options.hpp>
#include <curlasio/upload_source.hpp>

#include <curl/curl.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace curlasio {

/// Progress of one transfer, in bytes; a total is 0 while unknown.
struct transfer_progress {
    /// Bytes expected down (0: unknown).
    std::uint64_t download_total = 0;
    /// Bytes received so far.
    std::uint64_t downloaded = 0;
    /// Bytes expected up (0: unknown).
    std::uint64_t upload_total = 0;
    /// Bytes sent so far.
    std::uint64_t uploaded = 0;
};

/// One HTTP transfer, described: what is sent (method, URL, headers, body or
/// upload source), how (request_options) and two callbacks. A value type,
/// copyable and movable, independent of any engine; async_fetch copies what it
/// needs.
///
/// @par Thread safety
/// As for a std::string: one writer, or any number of readers.
///
/// @see @ref md_doc_requests "Building requests"
class request {
public:
    /// A header field as (name, value).
    using header = std::pair<std::string, std::string>;
    /// See request_options::curl_setter.
    using curl_setter = request_options::curl_setter;

    request() = default;
    /// A request for `url` with method `m`: a verb (`request(url,
    /// verb::post)`) or an explicit `curlasio::method("PROPFIND")`; a plain
    /// string is not accepted here, so that a body passed where the method
    /// goes does not compile.
    explicit request(std::string url, curlasio::method m = verb::get)
        : method(std::move(m).str()), url(std::move(url)) {}

    // ---- what is sent -------------------------------------------------------
    // libcurl 7.88 builds the request head in one buffer of 1 MiB (less a
    // NUL), which over HTTP/1 also takes a body under 64 KiB. A request whose
    // method, URL, headers, user agent and such a body, with 512 bytes kept
    // for the fields libcurl adds itself, do not fit is refused before
    // anything is sent, as errc::request_too_large. What set_option adds
    // (CURLOPT_COOKIE, CURLOPT_HTTPHEADER, ...) counts against the same
    // buffer but cannot be checked: past it, libcurl fails the fetch as
    // CURLE_OUT_OF_MEMORY. Over HTTP/2, nghttp2 sends no header block over
    // 64 KiB (after HPACK): such a request fails as CURLE_RECV_ERROR.
    /// As sent ("GET", "PROPFIND"); any RFC 9110 token (see is_token), else
    /// the request is refused as malformed. Set it directly for a method
    /// known only at run time, or through the constructor's curlasio::method.
    std::string method = "GET";
    /// Absolute URL; http:// or https:// (other schemes fail with
    /// CURLE_UNSUPPORTED_PROTOCOL, on redirects too).
    std::string url;
    /// Sent in this order; repeats allowed. A value-less name ("Accept", "")
    /// sends an empty header.
    std::vector<header> headers;
    /// Sent as the request body when non-empty, or when the method is one that
    /// carries a body (POST, PUT, PATCH). A POST with a body and no
    /// Content-Type header goes out as `Content-Type:
    /// application/x-www-form-urlencoded` (libcurl's default, whatever the
    /// bytes are): add the right header, e.g. `add_header("Content-Type",
    /// "application/json")`, for anything else.
    std::string body;
    /// When set, the body is read from this source as the transfer runs
    /// (and request::body is ignored): a pipe, a socket, a file, another
    /// download, a function of yours (see upload_source). Sent with
    /// Content-Length when the source knows its size, else chunked. The
    /// method is sent as it is (PUT and POST are the usual ones). A source
    /// feeds one transfer: a copy of the request shares it, and a second
    /// fetch while the first runs fails with errc::upload_in_use. libcurl
    /// cannot rewind a streamed body: a redirect or authentication round
    /// that must send it again fails with CURLE_SEND_FAIL_REWIND.
    upload_source upload;
    /// When non-empty, the body is multipart/form-data made of these parts
    /// by libcurl's MIME API (request::body is then ignored; request::upload
    /// takes precedence over both), with Content-Type: multipart/form-data
    /// and a boundary of libcurl's; a file part is streamed from its file.
    /// The method is sent as it is (add_part makes a GET a POST). A part's
    /// name, filename, file path, content type or header holding CR, LF or
    /// NUL (or a header name that is empty or holds ':') makes the request
    /// malformed. The parts are built on the easy handle when the transfer
    /// starts and freed when it ends (a reused handle never keeps them).
    std::vector<mime_part> multipart;

    // ---- how it is made -------------------------------------------------------
    /// Timeouts, redirects, TLS, limits, connection reuse, proxy, and the
    /// escape hatch (see request_options).
    request_options options;

    // ---- callbacks ------------------------------------------------------------
    // Both run on the engine's executor, inside libcurl: they must not block.
    // They may start or cancel fetches (both only post). If one throws, the
    // transfer is aborted with errc::callback_threw and the exception is in
    // response::callback_exception; nothing unwinds through libcurl.

    /// When set, body bytes are handed to it as they arrive (after decoding)
    /// instead of being stored in response::body. max_response_size still applies.
    std::function<void(std::string_view chunk)> on_body;
    /// When set, called as bytes move (CURLOPT_XFERINFOFUNCTION), at most
    /// once per options.progress_interval (100 ms by default), not while
    /// nothing moves, and with the final counts when a transfer succeeds. For
    /// async_fetch whose handler has an executor of its own (a strand, a
    /// GUI's), the calls are posted to that executor instead, in order and
    /// before the completion; a throw there escapes that executor's run()
    /// and no longer aborts the transfer.
    std::function<void(const transfer_progress&)> on_progress;

    /// Adds a header (kept in insertion order, repeats allowed).
    request& add_header(std::string name, std::string value) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    /// Sets a header: replaces the first one of that name (compared without
    /// case), drops any later ones, or adds it.
    request& set_header(std::string name, std::string value);

    // ---- building the URL and the body ----------------------------------------
    // Encoded by Boost.URL (linked privately by the library): RFC 3986
    // unreserved characters (letters, digits, - . _ ~) are kept, every other
    // byte is percent-encoded, UTF-8 byte by byte; so '&', '=', '+', '#', '%'
    // in a name or value arrive as themselves.

    /// Appends name=value to the URL's query (spaces as %20, '+' as %2B),
    /// after what the URL already has; repeats allowed; a fragment stays
    /// last (and is not sent). If the URL does not parse as an RFC 3986 URI
    /// reference, it is left as it is and the request is malformed: the
    /// fetch is refused with errc::invalid_request, its message saying so
    /// (see why_malformed), before anything is sent.
    request& add_query(std::string_view name, std::string_view value);
    /// The body as application/x-www-form-urlencoded from these fields, in
    /// order (spaces as '+', as browsers send forms; '+' as %2B), and the
    /// Content-Type header set to it. A GET becomes a POST; another method
    /// is kept (PUT, PATCH).
    request& set_form(const std::vector<std::pair<std::string, std::string>>& fields);
    /// Appends a part to request::multipart. A GET becomes a POST.
    request& add_part(mime_part part);

    /// Sets any libcurl option on the handle: integral values are passed as
    /// long (or curl_off_t for *_LARGE options when given a curl_off_t); strings
    /// are kept in the setter, which lives as long as the transfer (so even
    /// CURLOPT_POSTFIELDS, which libcurl does not copy, is safe). Other
    /// pointers are passed as they are: keep their targets alive until the
    /// fetch completes.
    ///
    /// Options set here are outside curlasio's defaults. In particular
    /// libcurl sends CURLOPT_COOKIE with every request of the transfer,
    /// also to another host a redirect leads to (libcurl has no option to
    /// keep it to the first one): for a cookie that is a credential use
    /// add_header("Cookie", ...), which goes only to the first host, port
    /// and scheme.
    template <typename T>
    request& set_option(CURLoption option, T value) {
        if constexpr (std::is_convertible_v<T, std::string_view> &&
                      !std::is_same_v<std::decay_t<T>, std::nullptr_t>) {
            options.curl_options.emplace_back([option, s = std::string(std::string_view(value))](CURL* h) {
                return curl_easy_setopt(h, option, s.c_str());
            });
        } else if constexpr (std::is_same_v<T, curl_off_t>) {
            options.curl_options.emplace_back(
                [option, value](CURL* h) { return curl_easy_setopt(h, option, value); });
        } else if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
            options.curl_options.emplace_back(
                [option, v = static_cast<long>(value)](CURL* h) { return curl_easy_setopt(h, option, v); });
        } else {
            options.curl_options.emplace_back(
                [option, value](CURL* h) { return curl_easy_setopt(h, option, value); });
        }
        return *this;
    }

    /// True when why_malformed() is empty.
    bool is_well_formed() const noexcept;
    /// Why async_fetch would refuse this request with errc::invalid_request
    /// before sending anything ("the method holds a space", "a header name
    /// holds ':'"), or empty when it would not. Refused: CR, LF or NUL in the
    /// method, URL, user agent, a header name or value, or a credential
    /// (options.auth, options.proxy's user name and password); an empty
    /// method, one holding a space or otherwise not an RFC 9110 token
    /// (is_token); an empty header name or one holding ':'. The
    /// error's message() and response::error_message say the same.
    std::string_view why_malformed() const noexcept;

    /// add_query met a URL it could not parse (the request is malformed).
    bool query_failed() const noexcept { return query_failed_; }

private:
    bool query_failed_ = false;
};

} // namespace curlasio

#endif
