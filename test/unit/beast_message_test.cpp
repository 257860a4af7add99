// The Beast layer's sans-io half (detail/beast_message.hpp): a Beast request
// mapped onto a curlasio::request (URL from Boost.URL, method, version,
// fields, body or body source), a response head mapped onto a Beast header
// (the decoded body's fields dropped), hop-by-hop fields, and the body
// seams over Beast's writers and readers. No socket anywhere.

#include <curlasio/beast.hpp>

#include <boost/beast/core/ostream.hpp>
#include <boost/beast/http/dynamic_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace http = boost::beast::http;
using namespace curlasio;
using curlasio::detail::to_request;

namespace {

using fields_list = std::vector<std::pair<std::string, std::string>>;

template <typename Body>
request map(http::request<Body>& m, std::string base = "http://127.0.0.1:9000") {
    error_code ec;
    std::string why;
    request r = to_request(m, beast_fetch_options{std::move(base), {}}, ec, why);
    BOOST_TEST_REQUIRE(!ec, ec.message() << ": " << why);
    return r;
}

std::string url_of(std::string_view target, std::string_view base) {
    std::string why;
    bool asterisk = false;
    return detail::target_url(target, base, why, asterisk);
}

header_list list(const fields_list& f) {
    header_list h;
    for (const auto& [n, v] : f)
        h.add(n, v);
    return h;
}

fields_list names_values(const http::fields& f) {
    fields_list out;
    for (const auto& x : f)
        out.emplace_back(std::string(x.name_string()), std::string(x.value()));
    return out;
}

// Drains a source the way libcurl's read callback does.
std::string drain(detail::body_source& s, std::size_t capacity) {
    std::string out(capacity, '\0'), all;
    for (;;) {
        auto r = s.produce(out.data(), capacity);
        if (r.status == detail::source_status::eof)
            return all;
        BOOST_TEST_REQUIRE((r.status == detail::source_status::data), r.ec.message());
        BOOST_TEST_REQUIRE(r.size <= capacity);
        all.append(out.data(), r.size);
    }
}

struct temp_file {
    std::string path;
    explicit temp_file(const std::string& content) {
        char name[] = "/tmp/curlasio-beast-unit-XXXXXX";
        const int fd = ::mkstemp(name);
        BOOST_TEST_REQUIRE(fd >= 0);
        BOOST_TEST_REQUIRE(::write(fd, content.data(), content.size()) ==
                           static_cast<ssize_t>(content.size()));
        ::close(fd);
        path = name;
    }
    ~temp_file() { std::remove(path.c_str()); }
};

// A body type of the user's: `total` bytes of 'x' in pieces of 3, its
// writer failing after `fail_after` bytes; no size() (so no payload_size).
struct generated_body {
    struct value_type {
        std::size_t total = 0;
        std::size_t fail_after = SIZE_MAX;
    };
    class writer {
    public:
        using const_buffers_type = boost::asio::const_buffer;
        template <bool isRequest, class Fields>
        writer(const http::header<isRequest, Fields>&, const value_type& v) : v_(v) {}
        void init(error_code& ec) { ec = {}; }
        boost::optional<std::pair<const_buffers_type, bool>> get(error_code& ec) {
            if (sent_ >= v_.fail_after) {
                ec = make_error_code(boost::system::errc::io_error);
                return boost::none;
            }
            ec = {};
            const std::size_t n = std::min<std::size_t>(3, v_.total - sent_);
            if (n == 0)
                return boost::none;
            sent_ += n;
            return std::make_pair(boost::asio::const_buffer("xxx", n), sent_ < v_.total);
        }

    private:
        const value_type& v_;
        std::size_t sent_ = 0;
    };
};

} // namespace

BOOST_AUTO_TEST_SUITE(beast_message)

BOOST_AUTO_TEST_CASE(a_body_of_the_users_is_streamed_and_its_failure_ends_it) {
    http::request<generated_body> m{http::verb::post, "/", 11};
    m.body().total = 10;
    request r = map(m);
    BOOST_TEST_REQUIRE(!!r.upload);
    BOOST_TEST(!r.upload.get()->size().has_value()); // chunked: no size known
    BOOST_TEST(drain(*r.upload.get(), 4) == std::string(10, 'x'));

    http::request<generated_body> bad{http::verb::post, "/", 11};
    bad.body().total = 10;
    bad.body().fail_after = 6;
    request rb = map(bad);
    detail::body_source& s = *rb.upload.get();
    char buf[64];
    auto first = s.produce(buf, sizeof buf); // what came before the failure goes out first
    BOOST_TEST((first.status == detail::source_status::data));
    BOOST_TEST(first.size == 6u);
    auto second = s.produce(buf, sizeof buf);
    BOOST_TEST((second.status == detail::source_status::fail));
    BOOST_TEST((second.ec == boost::system::errc::io_error));
}

BOOST_AUTO_TEST_CASE(origin_form_targets_go_under_the_base_url) {
    BOOST_TEST(url_of("/a/b?x=1&y=2", "http://127.0.0.1:9000") == "http://127.0.0.1:9000/a/b?x=1&y=2");
    BOOST_TEST(url_of("/a", "https://api.example/v2/") == "https://api.example/v2/a");
    BOOST_TEST(url_of("/a", "https://api.example/v2") == "https://api.example/v2/a");
    // The base's own query and fragment are replaced by the target's (none).
    BOOST_TEST(url_of("/a", "http://h/p?old=1#frag") == "http://h/p/a");
    BOOST_TEST(url_of("/", "http://h") == "http://h/");
    // Percent-encoding is kept as it is, never decoded or doubled.
    BOOST_TEST(url_of("/a%20b?q=%2F", "http://h") == "http://h/a%20b?q=%2F");
    // Absolute-form: the URL itself, whatever the base.
    BOOST_TEST(url_of("http://other:81/x?y", "http://h") == "http://other:81/x?y");
    BOOST_TEST(url_of("https://other/x", "") == "https://other/x");
}

BOOST_AUTO_TEST_CASE(targets_without_a_url_say_why) {
    for (auto [target, base] : std::vector<std::pair<std::string, std::string>>{
             {"/a", ""},                      // no base
             {"/a", "ftp://h/"},              // not http(s)
             {"/a", "relative/path"},         // not absolute
             {"example.org:443", "http://h"}, // authority-form (CONNECT)
             {"file:///etc/passwd", "http://h"},
             {"", "http://h"}}) {
        std::string why;
        bool asterisk = false;
        BOOST_TEST(detail::target_url(target, base, why, asterisk).empty(), target << " on " << base);
        BOOST_TEST(!why.empty());
    }
    http::request<http::empty_body> m{http::verb::get, "/x", 11};
    error_code ec;
    std::string why;
    to_request(m, beast_fetch_options{}, ec, why);
    BOOST_TEST((ec == errc::invalid_request));
    BOOST_TEST(why.find("base_url") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(asterisk_form_goes_to_the_origin_with_its_own_target) {
    http::request<http::empty_body> m{http::verb::options, "*", 11};
    request r = map(m, "http://h:1/prefix?q");
    BOOST_TEST(r.url == "http://h:1/");
    BOOST_TEST(r.method == "OPTIONS");
    BOOST_TEST(r.options.curl_options.size() == 1u); // CURLOPT_REQUEST_TARGET "*"
}

BOOST_AUTO_TEST_CASE(methods_known_and_custom) {
    http::request<http::empty_body> m{http::verb::delete_, "/", 11};
    BOOST_TEST(map(m).method == "DELETE");
    m.method(http::verb::propfind);
    BOOST_TEST(map(m).method == "PROPFIND");
    m.method_string("FROBNICATE");
    BOOST_TEST((m.method() == http::verb::unknown));
    BOOST_TEST(map(m).method == "FROBNICATE");
}

BOOST_AUTO_TEST_CASE(versions_map_unless_the_options_name_one) {
    http::request<http::empty_body> m{http::verb::get, "/", 10};
    BOOST_TEST((map(m).options.version == http_version::http1_0));
    m.version(11);
    BOOST_TEST((map(m).options.version == http_version::http1_1));
    m.version(20); // let libcurl negotiate
    BOOST_TEST((map(m).options.version == http_version::any));
    m.version(11);
    error_code ec;
    std::string why;
    beast_fetch_options o{"http://h", {}};
    o.options.version = http_version::http2_tls;
    BOOST_TEST((to_request(m, o, ec, why).options.version == http_version::http2_tls));
}

BOOST_AUTO_TEST_CASE(fields_keep_order_and_repeats_without_framing_or_hop_by_hop) {
    http::request<http::string_body> m{http::verb::post, "/echo", 11};
    m.insert("X-A", "1");
    m.insert(http::field::accept, "text/plain");
    m.insert("X-A", "2");
    m.insert("X-Empty", "");
    m.insert(http::field::host, "127.0.0.1:9000"); // the URL's own: libcurl writes it
    m.insert(http::field::content_length, "999");  // libcurl frames the body
    m.insert(http::field::transfer_encoding, "chunked");
    m.insert(http::field::connection, "keep-alive, X-Private");
    m.insert("X-Private", "hop");
    m.insert(http::field::keep_alive, "timeout=5");
    m.insert(http::field::te, "trailers");
    m.insert(http::field::upgrade, "h2c");
    m.insert(http::field::proxy_authorization, "Basic eA==");
    m.insert("X-A", "3");
    m.body() = "payload";
    request r = map(m);
    // Beast's fields keep a name's repeats together, in order.
    const fields_list want{
        {"X-A", "1"}, {"X-A", "2"}, {"X-A", "3"}, {"Accept", "text/plain"}, {"X-Empty", ""}};
    BOOST_TEST((r.headers == want));
    BOOST_TEST(r.body == "payload");
    BOOST_TEST(!r.upload);
    BOOST_TEST(r.url == "http://127.0.0.1:9000/echo");
}

BOOST_AUTO_TEST_CASE(a_host_naming_another_authority_is_sent) {
    http::request<http::empty_body> m{http::verb::get, "/", 11};
    m.set(http::field::host, "vhost.example");
    request r = map(m, "http://127.0.0.1:9000");
    BOOST_TEST((r.headers == fields_list{{"Host", "vhost.example"}}));
    m.set(http::field::host, "127.0.0.1:9000");
    BOOST_TEST(map(m).headers.empty());
    m.set(http::field::host, "127.0.0.1"); // another authority: no port
    BOOST_TEST(map(m).headers.size() == 1u);
}

BOOST_AUTO_TEST_CASE(buffered_bodies_are_copied_once) {
    http::request<http::vector_body<char>> v{http::verb::put, "/", 11};
    v.body() = {'a', '\0', 'b'};
    BOOST_TEST(map(v).body == std::string("a\0b", 3));

    http::request<http::dynamic_body> d{http::verb::post, "/", 11};
    boost::beast::ostream(d.body()) << std::string(100000, 'z');
    request rd = map(d);
    BOOST_TEST(rd.body == std::string(100000, 'z'));
    BOOST_TEST(!rd.upload);

    http::request<http::buffer_body> b{http::verb::post, "/", 11};
    char bytes[] = "xyz";
    b.body().data = bytes;
    b.body().size = 3;
    b.body().more = false;
    BOOST_TEST(map(b).body == "xyz");
    b.body().more = true; // a body still coming: not a whole-message fetch
    error_code ec;
    std::string why;
    to_request(b, beast_fetch_options{"http://h", {}}, ec, why);
    BOOST_TEST(!!ec);
    BOOST_TEST(why.find("request::upload") != std::string::npos);

    http::request<http::empty_body> e{http::verb::post, "/", 11};
    request re = map(e);
    BOOST_TEST(re.body.empty());
    BOOST_TEST(!re.upload);
}

BOOST_AUTO_TEST_CASE(a_file_body_is_streamed_from_its_writer_with_its_size) {
    std::string content(10000, '\0');
    for (std::size_t i = 0; i < content.size(); ++i)
        content[i] = static_cast<char>(i * 7);
    temp_file f(content);
    http::request<http::file_body> m{http::verb::put, "/up", 11};
    error_code ec;
    m.body().open(f.path.c_str(), boost::beast::file_mode::scan, ec);
    BOOST_TEST_REQUIRE(!ec);
    request r = map(m);
    BOOST_TEST_REQUIRE(!!r.upload);
    BOOST_TEST(r.body.empty());
    detail::body_source& s = *r.upload.get();
    BOOST_TEST((s.size() == std::optional<std::uint64_t>(10000)));
    BOOST_TEST(!s.attach({}, 1));
    BOOST_TEST((s.attach({}, 2) == errc::upload_in_use)); // read once
    // Capacities below and above the writer's 4 KiB pieces.
    BOOST_TEST((drain(s, 1000) == content));

    http::request<http::file_body> again{http::verb::put, "/up", 11};
    again.body().open(f.path.c_str(), boost::beast::file_mode::scan, ec);
    request r2 = map(again);
    BOOST_TEST((drain(*r2.upload.get(), 65536) == content));
    r2.upload.get()->detach();
}

BOOST_AUTO_TEST_CASE(a_response_head_keeps_order_repeats_and_reason) {
    http::response<http::string_body> res;
    res.set("X-Stale", "from before"); // a reused message starts over
    const header_list h = list({{"Set-Cookie", "a=1"},
                                {"Content-Type", "text/plain"},
                                {"Set-Cookie", "b=2"},
                                {"Content-Length", "5"},
                                {"X-Custom", ""}});
    detail::set_header(res.base(), 418, "I'm a teapot", 11, h, false);
    BOOST_TEST(res.result_int() == 418u);
    BOOST_TEST(res.reason() == "I'm a teapot");
    BOOST_TEST(res.version() == 11u);
    // Repeats in order, beside their first (as Beast's fields keep them).
    const fields_list want{{"Set-Cookie", "a=1"},
                           {"Set-Cookie", "b=2"},
                           {"Content-Type", "text/plain"},
                           {"Content-Length", "5"},
                           {"X-Custom", ""}};
    BOOST_TEST((names_values(res.base()) == want));
}

BOOST_AUTO_TEST_CASE(a_decoded_body_loses_its_encoded_length_and_coding) {
    const header_list gz =
        list({{"Content-Encoding", "gzip"}, {"Content-Length", "30"}, {"Vary", "Accept-Encoding"}});
    BOOST_TEST(detail::body_decoded(gz, true, 200, false));
    BOOST_TEST(!detail::body_decoded(gz, false, 200, false)); // decoding off: as received
    BOOST_TEST(!detail::body_decoded(gz, true, 200, true));   // HEAD: no body was decoded
    BOOST_TEST(!detail::body_decoded(gz, true, 304, false));
    BOOST_TEST(!detail::body_decoded(list({{"Content-Encoding", "identity"}}), true, 200, false));
    http::response<http::string_body> res;
    detail::set_header(res.base(), 200, "OK", 11, gz, true);
    BOOST_TEST((names_values(res.base()) == fields_list{{"Vary", "Accept-Encoding"}}));
}

BOOST_AUTO_TEST_CASE(hop_by_hop_fields_are_removed_both_ways) {
    http::response<http::empty_body> res;
    res.insert(http::field::connection, "close,  X-Hop ,x-other");
    res.insert("X-Hop", "1");
    res.insert("X-Other", "2");
    res.insert("X-Keep", "3");
    res.insert(http::field::transfer_encoding, "chunked");
    res.insert(http::field::keep_alive, "timeout=5");
    res.insert(http::field::proxy_authenticate, "Basic");
    res.insert("Proxy-Connection", "keep-alive");
    res.insert(http::field::upgrade, "websocket");
    res.insert(http::field::trailer, "X-Sum"); // end-to-end
    remove_hop_by_hop(res);
    BOOST_TEST((names_values(res.base()) == fields_list{{"X-Keep", "3"}, {"Trailer", "X-Sum"}}));

    http::request<http::empty_body> req;
    req.insert(http::field::te, "trailers");
    req.insert(http::field::connection, "TE");
    req.insert(http::field::accept, "*/*");
    remove_hop_by_hop(req);
    BOOST_TEST((names_values(req.base()) == fields_list{{"Accept", "*/*"}}));
}

BOOST_AUTO_TEST_CASE(the_reader_sink_fills_the_message_as_chunks_come) {
    http::response<http::string_body> res;
    detail::reader_sink<http::string_body, http::fields> sink(res, true, false, 0);
    const header_list h = list({{"Content-Length", "6"}, {"X-A", "1"}});
    const detail::head_view head{200, "OK", h, 11, 6, "http://h/"};
    BOOST_TEST(!sink.on_head(head));
    BOOST_TEST(res.body().capacity() >= 6u); // reserved what was announced
    BOOST_TEST((sink.consume("abc").status == detail::sink_status::consumed));
    BOOST_TEST((sink.consume("def").status == detail::sink_status::consumed));
    response r;
    r.headers = h;
    BOOST_TEST(!sink.finish(r));
    BOOST_TEST(res.body() == "abcdef");
    BOOST_TEST(r.headers.empty()); // the message has them
    BOOST_TEST(res["X-A"] == "1");

    // An empty_body response refuses a body, with Beast's own error.
    http::response<http::empty_body> none;
    detail::reader_sink<http::empty_body, http::fields> empty(none, true, false, 0);
    BOOST_TEST(!empty.on_head(head));
    auto refused = empty.consume("x");
    BOOST_TEST((refused.status == detail::sink_status::fail));
    BOOST_TEST((refused.ec == http::error::unexpected_body));
}

BOOST_AUTO_TEST_CASE(a_head_never_told_comes_from_the_response) {
    http::response<http::string_body> res;
    detail::reader_sink<http::string_body, http::fields> sink(res, true, false, 0);
    response r;
    r.status = 401;
    r.reason = "Unauthorized";
    r.version = 11;
    r.headers.add("WWW-Authenticate", "Basic realm=x");
    BOOST_TEST(!sink.finish(r));
    BOOST_TEST(res.result_int() == 401u);
    BOOST_TEST(res.reason() == "Unauthorized");
    BOOST_TEST(res[http::field::www_authenticate] == "Basic realm=x");
    BOOST_TEST(res.body().empty());
}

BOOST_AUTO_TEST_SUITE_END()
