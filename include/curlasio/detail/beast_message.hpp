#ifndef CURLASIO_DETAIL_BEAST_MESSAGE_HPP
#define CURLASIO_DETAIL_BEAST_MESSAGE_HPP

// The sans-io half of the Beast layer: a Beast request mapped onto a
// curlasio::request (URL, method, fields, body), a response head mapped onto
// a Beast header, hop-by-hop fields, and the two seams over Beast's body
// concepts (a request body's writer as a body_source, a response body's
// reader as a body_sink). No socket, no engine: unit tested on its own.
// Included only through <curlasio/beast.hpp>.

#include <curlasio/detail/body_sink.hpp>
#include <curlasio/detail/body_source.hpp>
#include <curlasio/error.hpp>
#include <curlasio/request.hpp>
#include <curlasio/response.hpp>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_suffix.hpp>
#include <boost/beast/http/basic_dynamic_body.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/vector_body.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <concepts>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace curlasio {

/// Where and how a Beast request is fetched.
/// @headerfile beast.hpp <curlasio/beast.hpp>
struct beast_fetch_options {
    /// The scheme, authority and path prefix an origin-form target
    /// ("/path?query", what Beast requests usually hold) is sent to:
    /// "http://127.0.0.1:9000" sends "/a?b" to "http://127.0.0.1:9000/a?b",
    /// "https://api.example/v2/" sends it to "https://api.example/v2/a?b"
    /// (the base's path, less a trailing '/', then the target's path; the
    /// target's query; no fragment). Unused for an absolute-form target
    /// ("http://host/path"), which is the URL itself.
    std::string base_url;
    /// Timeouts, redirects, TLS, limits, proxy, ... as for a curlasio::request.
    request_options options;
};

namespace detail {

namespace beast_http = boost::beast::http;

inline bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               const auto lx = static_cast<unsigned char>(x >= 'A' && x <= 'Z' ? x | 0x20 : x);
               const auto ly = static_cast<unsigned char>(y >= 'A' && y <= 'Z' ? y | 0x20 : y);
               return lx == ly;
           });
}

inline std::string_view trim_ows(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

/// The fields RFC 9110 (7.6.1) makes hop-by-hop whatever Connection says:
/// Connection, Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade,
/// and the Proxy-* fields (Proxy-Authorization, Proxy-Authenticate: meant
/// for the proxy they address, not for the next hop).
inline bool is_hop_by_hop_name(std::string_view name) noexcept {
    return ascii_iequals(name, "connection") || ascii_iequals(name, "keep-alive") ||
           ascii_iequals(name, "te") || ascii_iequals(name, "transfer-encoding") ||
           ascii_iequals(name, "upgrade") || (name.size() >= 6 && ascii_iequals(name.substr(0, 6), "proxy-"));
}

/// The field names the Connection fields list ("Connection: close, X-A").
template <typename Fields>
std::vector<std::string> connection_options(const Fields& fields) {
    std::vector<std::string> names;
    for (const auto& f : fields) {
        if (!ascii_iequals(f.name_string(), "connection"))
            continue;
        std::string_view v = f.value();
        while (!v.empty()) {
            const auto comma = v.find(',');
            const std::string_view token = trim_ows(v.substr(0, comma));
            if (!token.empty())
                names.emplace_back(token);
            if (comma == std::string_view::npos)
                break;
            v.remove_prefix(comma + 1);
        }
    }
    return names;
}

inline bool named_in(const std::vector<std::string>& names, std::string_view name) noexcept {
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return ascii_iequals(n, name); });
}

/// The URL a Beast request with target `target` goes to (see
/// beast_fetch_options::base_url); empty with `why` set when there is none.
/// Sets `asterisk` for "OPTIONS *" (the URL is then the base's origin).
inline std::string target_url(std::string_view target, std::string_view base, std::string& why,
                              bool& asterisk) {
    asterisk = false;
    if (target.empty()) {
        why = "the request target is empty";
        return {};
    }
    auto http_scheme = [](const boost::urls::url_view& u) {
        return u.scheme_id() == boost::urls::scheme::http || u.scheme_id() == boost::urls::scheme::https;
    };
    if (target.front() != '/' && target != "*") {
        // absolute-form (RFC 9112 3.2.2); authority-form is CONNECT's only.
        auto abs = boost::urls::parse_absolute_uri(target);
        if (!abs || !http_scheme(*abs) || !abs->has_authority()) {
            why = "the request target is neither origin-form (/path) nor an absolute http(s) URL";
            return {};
        }
        return std::string(abs->buffer());
    }
    if (base.empty()) {
        why = "an origin-form request target needs beast_fetch_options::base_url";
        return {};
    }
    auto b = boost::urls::parse_absolute_uri(base);
    if (!b)
        b = boost::urls::parse_uri(base); // with a fragment, dropped below
    if (!b || !http_scheme(*b) || !b->has_authority()) {
        why = "beast_fetch_options::base_url is not an absolute http(s) URL";
        return {};
    }
    boost::urls::url u(*b);
    u.remove_fragment();
    // Boost.URL 1.81 turns set_encoded_path("/") into "/./".
    auto set_path = [&u](std::string_view p) {
        if (p == "/") {
            u.set_encoded_path("");
            u.set_path_absolute(true);
        } else {
            u.set_encoded_path(p);
        }
    };
    if (target == "*") {
        asterisk = true;
        set_path("/");
        u.remove_query();
        return std::string(u.buffer());
    }
    auto t = boost::urls::parse_origin_form(target);
    if (!t) {
        why = "the request target is not a valid origin-form target";
        return {};
    }
    std::string path(b->encoded_path());
    while (!path.empty() && path.back() == '/')
        path.pop_back();
    path.append(t->encoded_path());
    set_path(path);
    if (t->has_query())
        u.set_encoded_query(t->encoded_query());
    else
        u.remove_query();
    return std::string(u.buffer());
}

/// "host[:port]" of an absolute URL as libcurl writes it into Host.
inline std::string_view url_authority(std::string_view url) noexcept {
    auto u = boost::urls::parse_uri(url);
    if (!u)
        return {};
    return u->encoded_host_and_port();
}

// ---- bodies ------------------------------------------------------------------

/// Bodies that live in memory: copied once into request::body, so that a
/// redirect or an authentication round can send them again. Every other
/// body (file_body, a body type of the user's) is streamed through its writer.
template <typename Body>
struct is_buffered_body : std::false_type {};
template <typename Char, typename Traits, typename Allocator>
struct is_buffered_body<beast_http::basic_string_body<Char, Traits, Allocator>>
    : std::bool_constant<sizeof(Char) == 1> {};
template <typename T, typename Allocator>
struct is_buffered_body<beast_http::vector_body<T, Allocator>> : std::bool_constant<sizeof(T) == 1> {};
template <typename T>
struct is_buffered_body<beast_http::span_body<T>> : std::bool_constant<sizeof(T) == 1> {};
template <typename DynamicBuffer>
struct is_buffered_body<beast_http::basic_dynamic_body<DynamicBuffer>> : std::true_type {};
template <>
struct is_buffered_body<beast_http::empty_body> : std::true_type {};
template <>
struct is_buffered_body<beast_http::buffer_body> : std::true_type {};

/// Runs a body's writer to the end, appending to `out`.
template <typename Body, typename Fields>
error_code append_body(beast_http::request<Body, Fields>& m, std::string& out) {
    error_code ec;
    typename Body::writer w(m.base(), m.body());
    w.init(ec);
    if (ec)
        return ec;
    for (;;) {
        auto r = w.get(ec);
        if (ec)
            return ec; // buffer_body with more == true: beast's need_buffer
        if (!r)
            return {};
        const std::size_t n = boost::asio::buffer_size(r->first);
        const std::size_t at = out.size();
        out.resize(at + n);
        boost::asio::buffer_copy(boost::asio::buffer(out.data() + at, n), r->first);
        if (!r->second)
            return {};
    }
}

/// A request body streamed from its Beast writer as libcurl asks for bytes
/// (a file_body reads the file then, 4 KiB per get()). The message must
/// outlive the transfer.
template <typename Body, typename Fields>
class writer_source final : public body_source {
public:
    explicit writer_source(beast_http::request<Body, Fields>& m) : message_(m) {
        if (auto n = m.payload_size())
            size_ = *n;
    }

    std::optional<std::uint64_t> size() const override { return size_; }

    error_code attach(std::weak_ptr<engine_impl>, std::uint64_t) override {
        if (attached_)
            return errc::upload_in_use;
        attached_ = true;
        return {};
    }

    source_result produce(char* buffer, std::size_t capacity) override {
        if (error_)
            return {source_status::fail, 0, error_};
        if (!writer_) {
            writer_.emplace(message_.base(), message_.body());
            writer_->init(error_);
            if (error_)
                return {source_status::fail, 0, error_};
        }
        std::size_t n = 0;
        while (n < capacity) {
            if (!pending_ || boost::asio::buffer_size(*pending_) == 0) {
                if (!more_)
                    break;
                auto r = writer_->get(error_);
                if (error_ || !r) {
                    more_ = false;
                    break;
                }
                pending_.emplace(r->first);
                more_ = r->second;
            }
            const std::size_t k =
                boost::asio::buffer_copy(boost::asio::buffer(buffer + n, capacity - n), *pending_);
            pending_->consume(k);
            n += k;
        }
        if (n > 0)
            return {source_status::data, n, {}}; // an error waits for the next call
        if (error_)
            return {source_status::fail, 0, error_};
        return {source_status::eof, 0, {}};
    }

    void detach() noexcept override {
        // Nothing of the message is touched after the transfer.
        pending_.reset();
        writer_.reset();
    }

private:
    using writer_type = typename Body::writer;
    using buffers_type = typename writer_type::const_buffers_type;

    beast_http::request<Body, Fields>& message_;
    std::optional<std::uint64_t> size_;
    std::optional<writer_type> writer_;
    std::optional<boost::beast::buffers_suffix<buffers_type>> pending_;
    error_code error_;
    bool more_ = true;
    bool attached_ = false;
};

/// The method as it goes on the request line.
template <typename Body, typename Fields>
std::string method_of(const beast_http::request<Body, Fields>& m) {
    if (m.method() == beast_http::verb::unknown)
        return std::string(m.method_string());
    return std::string(beast_http::to_string(m.method()));
}

/// Which version to ask libcurl for: an explicit options.version wins;
/// otherwise 10 and 11 are asked for as such, anything else (20) lets libcurl
/// negotiate (HTTP/2 over TLS by ALPN, else 1.1).
inline http_version version_for(unsigned message_version, http_version option) noexcept {
    if (option != http_version::any)
        return option;
    switch (message_version) {
    case 10:
        return http_version::http1_0;
    case 11:
        return http_version::http1_1;
    default:
        return http_version::any;
    }
}

/// The curlasio::request a Beast request becomes (fields, method, URL,
/// version, body or body source); on failure `ec` is errc::invalid_request,
/// or the body writer's error, and `why` says what is wrong.
///
/// Fields go in order, repeats kept, except: Content-Length and
/// Transfer-Encoding (libcurl frames the body it is given), the hop-by-hop
/// fields and those Connection names (they concern this hop only), and Host
/// when it names the URL's own authority (libcurl writes that one; a Host
/// that differs is sent in place of libcurl's, as for virtual hosting behind
/// an address, and is dropped by libcurl on a redirect to another host).
template <typename Body, typename Fields>
request to_request(beast_http::request<Body, Fields>& m, beast_fetch_options opts, error_code& ec,
                   std::string& why) {
    ec.clear();
    request r;
    bool asterisk = false;
    r.url = target_url(m.target(), opts.base_url, why, asterisk);
    if (r.url.empty()) {
        ec = errc::invalid_request;
        return r;
    }
    r.method = method_of(m);
    r.options = std::move(opts.options);
    r.options.version = version_for(m.version(), r.options.version);
    if (asterisk)
        r.set_option(CURLOPT_REQUEST_TARGET, "*");

    const std::vector<std::string> listed = connection_options(m);
    const std::string_view authority = url_authority(r.url);
    for (const auto& f : m) {
        const std::string_view name = f.name_string();
        const std::string_view value = f.value();
        if (is_hop_by_hop_name(name) || named_in(listed, name) || ascii_iequals(name, "content-length"))
            continue;
        if (ascii_iequals(name, "host") && ascii_iequals(trim_ows(value), authority))
            continue;
        r.headers.emplace_back(std::string(name), std::string(value));
    }

    if constexpr (std::is_same_v<Body, beast_http::empty_body>) {
        // nothing to send
    } else if constexpr (is_buffered_body<Body>::value) {
        if constexpr (requires {
                          { m.body().data() } -> std::convertible_to<const void*>;
                          m.body().size();
                      }) { // contiguous: string, vector, span
            r.body.assign(reinterpret_cast<const char*>(m.body().data()), m.body().size());
        } else if (auto body_ec = append_body(m, r.body)) {
            ec = body_ec;
            why = "the request body's writer failed: " + body_ec.message() +
                  (std::is_same_v<Body, beast_http::buffer_body>
                       ? " (a buffer_body with more == true: stream it with request::upload)"
                       : "");
            return r;
        }
    } else {
        r.upload = upload_source(std::make_shared<writer_source<Body, Fields>>(m));
    }
    return r;
}

// ---- the response ------------------------------------------------------------

/// Whether libcurl decoded the body's content coding: decoding on, a body
/// that can have one, and a Content-Encoding other than identity (libcurl
/// decodes every coding it is sent or fails the transfer).
inline bool body_decoded(const header_list& fields, bool decompress, int status, bool head_request) noexcept {
    if (!decompress || head_request || status == 204 || status == 304 || (status >= 100 && status < 200))
        return false;
    for (const auto& [name, value] : fields)
        if (ascii_iequals(name, "content-encoding")) {
            const std::string_view v = trim_ows(value);
            if (!v.empty() && !ascii_iequals(v, "identity"))
                return true;
        }
    return false;
}

/// Writes a response head into a Beast header: status, reason, version and
/// every field with repeats, in arrival order as far as Beast's fields keep
/// it (they keep a name's repeats together, after the name's first field). With `decoded`, the Content-Length
/// and Content-Encoding of the encoded body are left out: the body the message gets is the decoded one.
/// A head with Transfer-Encoding never has a Content-Length here (the
/// response head parser drops it: RFC 9112 6.3), so a message forwarded as
/// it is frames its body by what libcurl decoded. Throws std::length_error
/// for a field name or value of 65 534 bytes or more, which Beast's
/// basic_fields cannot hold (reader_sink turns it into
/// errc::head_not_representable).
template <typename Fields>
void set_header(beast_http::response_header<Fields>& h, int status, std::string_view reason, unsigned version,
                const header_list& fields, bool decoded) {
    static_cast<Fields&>(h).clear();
    h.result(static_cast<unsigned>(status));
    h.reason(reason);
    h.version(version);
    for (const auto& [name, value] : fields) {
        if (decoded && (ascii_iequals(name, "content-length") || ascii_iequals(name, "content-encoding")))
            continue;
        h.insert(name, value);
    }
}

/// The response body through its Beast reader: the head goes into the
/// message at on_head, then every chunk to reader.put as it arrives (a
/// file_body response writes to its file then), and reader.finish at the
/// end. A message that held an earlier response starts over: its fields
/// are replaced, an in-memory body (string, vector, dynamic) is emptied; a
/// file_body's file is written from where it stands. The message must
/// outlive the transfer.
template <typename ResponseBody, typename Fields>
class reader_sink final : public body_sink {
    static_assert(!std::is_same_v<ResponseBody, beast_http::buffer_body>,
                  "a buffer_body response needs its caller to hand a new buffer after each "
                  "piece, which a whole fetch cannot wait for: use a download_stream");

public:
    reader_sink(beast_http::response<ResponseBody, Fields>& m, bool decompress, bool head_request,
                std::size_t max_response_size)
        : message_(m), decompress_(decompress), head_request_(head_request), cap_(max_response_size) {}

    error_code on_head(const head_view& h) override {
        start(h.status, h.reason, h.version, h.headers, h.content_length);
        return error_;
    }

    sink_result consume(std::string_view chunk) override {
        error_code ec;
        while (!chunk.empty()) {
            const std::size_t n = reader_->put(boost::asio::const_buffer(chunk.data(), chunk.size()), ec);
            if (ec)
                return {sink_status::fail, ec};
            if (n == 0)
                return {sink_status::fail, make_error_code(beast_http::error::buffer_overflow)};
            chunk.remove_prefix(n);
        }
        return {};
    }

    /// After a successful transfer, on the handler's executor: a head libcurl
    /// never told (a body-less answer to a 401/407 challenge, a redirect not
    /// followed after all) is taken from the response, then the reader is
    /// finished. The header fields now live in the message only.
    error_code finish(response& r) {
        if (!reader_)
            start(r.status, r.reason, r.version, r.headers, std::nullopt);
        if (!error_)
            reader_->finish(error_);
        r.headers.clear();
        return error_;
    }

private:
    void start(int status, std::string_view reason, unsigned version, const header_list& fields,
               std::optional<std::uint64_t> length) {
        const bool decoded = body_decoded(fields, decompress_, status, head_request_);
        try {
            set_header(message_.base(), status, reason, version, fields, decoded);
        } catch (const std::length_error&) {
            // Beast keeps a field's sizes in 16 bits: libcurl takes lines up
            // to 100 KiB. Fail the fetch with a code of its own, not a throw.
            static_cast<Fields&>(message_.base()).clear();
            error_ = errc::head_not_representable;
            return;
        }
        // The announced length of a body that comes as it is; within the cap
        // (or 1 GiB without one) so that a lying one reserves nothing absurd.
        const std::uint64_t bound = cap_ ? cap_ : std::uint64_t(1) << 30;
        const bool bodyless = head_request_ || status == 204 || status == 304 || status < 200;
        // Transfer-Encoding framed the body (libcurl de-chunked it): a length
        // beside it describes nothing the reader gets.
        const bool framed_by_length = !fields.contains("transfer-encoding");
        // Its storage set even when empty: boost::optional copies a trivially
        // copyable value's storage either way, which GCC 12 reports as maybe
        // uninitialized.
        const boost::optional<std::uint64_t> announced(
            length && framed_by_length && !decoded && !bodyless && *length <= bound, length.value_or(0));
        // A reused message starts over: Beast's in-memory readers append.
        if constexpr (is_buffered_body<ResponseBody>::value)
            message_.body() = typename ResponseBody::value_type();
        reader_.emplace(message_.base(), message_.body());
        reader_->init(announced, error_);
    }

    beast_http::response<ResponseBody, Fields>& message_;
    std::optional<typename ResponseBody::reader> reader_;
    error_code error_;
    bool decompress_;
    bool head_request_;
    std::size_t cap_;
};

} // namespace detail

/// Removes from `fields` (a request's or a response's) the hop-by-hop fields
/// of RFC 9110 7.6.1: those Connection names, then Connection, Keep-Alive,
/// Proxy-Connection, TE, Transfer-Encoding, Upgrade, and Proxy-Authenticate /
/// Proxy-Authorization (meant for the proxy they address). A proxy calls it
/// on what it receives from either side before forwarding it. async_fetch
/// of a Beast request already leaves them out of what it sends; a response
/// it completes with keeps them, as received.
template <typename Allocator>
void remove_hop_by_hop(boost::beast::http::basic_fields<Allocator>& fields) {
    const std::vector<std::string> listed = detail::connection_options(fields);
    for (auto it = fields.begin(); it != fields.end();) {
        const std::string_view name = it->name_string();
        if (detail::is_hop_by_hop_name(name) || detail::named_in(listed, name))
            it = fields.erase(it);
        else
            ++it;
    }
}

} // namespace curlasio

#endif
