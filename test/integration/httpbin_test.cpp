// Against a real HTTP/1.1 application server: Debian's python3-httpbin under
// gunicorn, on a loopback port. One server for the whole suite (it takes
// about a second to start), with a few threads so that a slow route does not
// hold up the next case. Without gunicorn or python3-httpbin the cases are
// skipped, and say so.

#include <toolkit/toolkit.hpp>
#include "peer_process.hpp"

#include <curlasio/json.hpp> // target curlasio::json, which links Boost.JSON

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <curl/curl.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace curlasio;
using namespace curlasio::test;

namespace {

constexpr const char* gunicorn_path = "/usr/bin/gunicorn";
constexpr const char* httpbin_module = "/usr/lib/python3/dist-packages/httpbin/__init__.py";

const peer_process& httpbin() {
    static peer_process server(gunicorn_path, [](unsigned short port) {
        // --chdir: the module is found in dist-packages, not in whatever
        // directory the tests run from.
        return std::vector<std::string>{"--bind",
                                        "127.0.0.1:" + std::to_string(port),
                                        "--workers",
                                        "1",
                                        "--threads",
                                        "4",
                                        "--graceful-timeout",
                                        "1",
                                        "--chdir",
                                        "/",
                                        "httpbin:app"};
    });
    return server;
}

struct fixture {
    asio::io_context io;
    engine eng{io};

    static std::string url(const std::string& path) {
        return "http://127.0.0.1:" + std::to_string(httpbin().port()) + path;
    }
    // Every case is bounded: httpbin answers in milliseconds.
    static request get(const std::string& path) {
        request req(url(path));
        req.options.timeout = std::chrono::seconds(10);
        return req;
    }
    outcome fetch(request req) { return fetch_sync(io, eng, std::move(req)); }
};

// The module first: gunicorn without it would listen, then fail every request.
#define REQUIRE_HTTPBIN()                                                                                    \
    if (::access(httpbin_module, R_OK) != 0) {                                                               \
        BOOST_TEST_MESSAGE("skipped: python3 module httpbin not installed (Debian python3-httpbin)");        \
        return;                                                                                              \
    }                                                                                                        \
    CURLASIO_REQUIRE_PEER(httpbin(), "gunicorn")

// The body as a JSON object; the case stops if it is not one. Returned by
// value: keep it in a variable before taking references or pointers into it.
json::object body_json(const outcome& out) {
    json::error_code ec;
    json::value v = json::parse(out.res.body, ec);
    BOOST_TEST_REQUIRE(!ec, "not JSON (" << ec.message() << "): " << out.res.body.substr(0, 200));
    BOOST_TEST_REQUIRE(v.is_object(), out.res.body.substr(0, 200));
    return std::move(v.as_object());
}

std::string str(const json::value* v) {
    return v && v->is_string() ? std::string(v->as_string()) : std::string("<absent>");
}

#define REQUIRE_OK(out) BOOST_TEST_REQUIRE(!(out).ec, (out).ec.message() << ": " << (out).res.error_message)

} // namespace

BOOST_FIXTURE_TEST_SUITE(httpbin_peer, fixture)

BOOST_AUTO_TEST_CASE(error_statuses_are_responses_not_errors) {
    REQUIRE_HTTPBIN();
    auto teapot = fetch(get("/status/418"));
    REQUIRE_OK(teapot);
    BOOST_TEST(teapot.res.status == 418);
    BOOST_TEST(teapot.res.body.find("teapot") != std::string::npos);
    BOOST_TEST(teapot.res.version == 11);

    auto unavailable = fetch(get("/status/503"));
    REQUIRE_OK(unavailable);
    BOOST_TEST(unavailable.res.status == 503);
    BOOST_TEST(unavailable.res.error_message.empty());
}

BOOST_AUTO_TEST_CASE(relative_redirects_are_followed_and_counted) {
    REQUIRE_HTTPBIN();
    request req = get("/redirect/3");
    req.options.redirects.follow = true;
    auto out = fetch(req);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.redirect_count == 3);
    BOOST_TEST(out.res.effective_url == url("/get"));
    BOOST_TEST(str(body_json(out).if_contains("url")) == url("/get"));
    BOOST_TEST(!out.res.headers.contains("Location")); // the last response's fields only

    // Not followed: the first 302 itself, with its Location.
    auto first = fetch(get("/redirect/3"));
    REQUIRE_OK(first);
    BOOST_TEST(first.res.status == 302);
    BOOST_TEST(first.res.redirect_count == 0);
    BOOST_TEST(std::string(first.res.headers.find("Location").value_or("")) == "/relative-redirect/2");

    // One hop too many for the bound.
    req.options.redirects.max = 2;
    auto bounded = fetch(req);
    BOOST_TEST(bounded.ec == make_error_code(CURLE_TOO_MANY_REDIRECTS));
}

BOOST_AUTO_TEST_CASE(absolute_redirects_are_followed) {
    REQUIRE_HTTPBIN();
    auto first = fetch(get("/absolute-redirect/2"));
    REQUIRE_OK(first);
    BOOST_TEST(first.res.status == 302);
    BOOST_TEST(std::string(first.res.headers.find("Location").value_or("")).rfind("http://", 0) == 0u);

    request req = get("/absolute-redirect/2");
    req.options.redirects.follow = true;
    auto out = fetch(req);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.redirect_count == 2);
    BOOST_TEST(out.res.effective_url == url("/get"));
}

BOOST_AUTO_TEST_CASE(gzip_and_deflate_bodies_are_decoded) {
    REQUIRE_HTTPBIN();
    for (const auto& [path, flag] : {std::pair{"/gzip", "gzipped"}, std::pair{"/deflate", "deflated"}}) {
        BOOST_TEST_CONTEXT(path) {
            auto out = fetch(get(path));
            REQUIRE_OK(out);
            BOOST_TEST(out.res.status == 200);
            const json::object body = body_json(out);
            const json::value* decoded = body.if_contains(flag);
            BOOST_TEST((decoded && decoded->is_bool() && decoded->as_bool()));
            // What was asked for: every encoding libcurl can decode.
            const json::value& headers = body.at("headers");
            BOOST_TEST(str(headers.as_object().if_contains("Accept-Encoding")).find("gzip") !=
                       std::string::npos);
        }
    }
    // Without decoding, the bytes are the server's own: a gzip member.
    request raw = get("/gzip");
    raw.options.decompress = false;
    auto out = fetch(raw);
    REQUIRE_OK(out);
    BOOST_TEST_REQUIRE(out.res.body.size() > 2u);
    BOOST_TEST(static_cast<unsigned char>(out.res.body[0]) == 0x1f);
    BOOST_TEST(static_cast<unsigned char>(out.res.body[1]) == 0x8b);
    BOOST_TEST(out.res.bytes_received == out.res.body.size());
}

BOOST_AUTO_TEST_CASE(brotli_bodies_are_decoded_when_libcurl_has_brotli) {
    REQUIRE_HTTPBIN();
    const bool has_brotli = (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_BROTLI) != 0;
    auto out = fetch(get("/brotli"));
    REQUIRE_OK(out);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(std::string(out.res.headers.find("Content-Encoding").value_or("")) == "br");
    if (!has_brotli) {
        // httpbin compresses whatever was asked; this libcurl cannot undo it.
        BOOST_TEST_MESSAGE("libcurl was built without brotli: the body stays encoded");
        BOOST_TEST(out.res.body.find("\"brotli\"") == std::string::npos);
        return;
    }
    const json::object body = body_json(out);
    const json::value* decoded = body.if_contains("brotli");
    BOOST_TEST((decoded && decoded->is_bool() && decoded->as_bool()));
    BOOST_TEST(out.res.bytes_received < out.res.body.size());
}

BOOST_AUTO_TEST_CASE(cookies_set_by_a_redirect_are_sent_with_the_cookie_engine) {
    REQUIRE_HTTPBIN();
    // /cookies/set answers with Set-Cookie and a redirect to /cookies, which
    // echoes the cookies it was sent.
    request req = get("/cookies/set?k=v&flavour=oat");
    req.options.redirects.follow = true;
    req.set_option(CURLOPT_COOKIEFILE, ""); // the engine on, with no file to read
    auto out = fetch(req);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.redirect_count == 1);
    BOOST_TEST(out.res.effective_url == url("/cookies"));
    BOOST_TEST(!out.res.headers.contains("Set-Cookie")); // that was the redirect's
    const json::object body = body_json(out);
    const json::object& cookies = body.at("cookies").as_object();
    BOOST_TEST(cookies.size() == 2u);
    BOOST_TEST(str(cookies.if_contains("k")) == "v");
    BOOST_TEST(str(cookies.if_contains("flavour")) == "oat");

    // Without the cookie engine the Set-Cookie is not kept for the next hop.
    request plain = get("/cookies/set?k=v");
    plain.options.redirects.follow = true;
    auto none = fetch(plain);
    REQUIRE_OK(none);
    BOOST_TEST(body_json(none).at("cookies").as_object().empty());
}

BOOST_AUTO_TEST_CASE(basic_auth_with_and_without_credentials) {
    REQUIRE_HTTPBIN();
    request req = get("/basic-auth/user/pass");
    req.set_option(CURLOPT_USERPWD, "user:pass");
    auto ok = fetch(req);
    REQUIRE_OK(ok);
    BOOST_TEST(ok.res.status == 200);
    const json::object body = body_json(ok);
    BOOST_TEST(body.at("authenticated").as_bool());
    BOOST_TEST(str(body.if_contains("user")) == "user");

    auto anonymous = fetch(get("/basic-auth/user/pass"));
    REQUIRE_OK(anonymous);
    BOOST_TEST(anonymous.res.status == 401);
    BOOST_TEST(std::string(anonymous.res.headers.find("WWW-Authenticate").value_or("")).rfind("Basic", 0) ==
               0u);

    request wrong = get("/basic-auth/user/pass");
    wrong.set_option(CURLOPT_USERPWD, "user:guess");
    auto refused = fetch(wrong);
    REQUIRE_OK(refused);
    BOOST_TEST(refused.res.status == 401);
}

BOOST_AUTO_TEST_CASE(basic_and_bearer_as_request_options) {
    REQUIRE_HTTPBIN();
    request basic = get("/basic-auth/user/passwd");
    basic.options.auth = {.username = "user", .password = "passwd"};
    auto ok = fetch(basic);
    REQUIRE_OK(ok);
    BOOST_TEST(ok.res.status == 200);
    BOOST_TEST(str(body_json(ok).if_contains("user")) == "user");

    request bearer = get("/bearer");
    bearer.options.auth = {.bearer_token = "curlasio-token"};
    auto with_token = fetch(bearer);
    REQUIRE_OK(with_token);
    BOOST_TEST(with_token.res.status == 200);
    BOOST_TEST(str(body_json(with_token).if_contains("token")) == "curlasio-token");

    auto without = fetch(get("/bearer"));
    REQUIRE_OK(without);
    BOOST_TEST(without.res.status == 401);
}

BOOST_AUTO_TEST_CASE(digest_auth_answers_the_challenge) {
    REQUIRE_HTTPBIN();
    for (auth_scheme scheme : {auth_scheme::digest, auth_scheme::any}) {
        BOOST_TEST_CONTEXT("scheme " << static_cast<int>(scheme)) {
            request req = get("/digest-auth/auth/user/passwd");
            req.options.auth = {.scheme = scheme, .username = "user", .password = "passwd"};
            auto ok = fetch(req);
            REQUIRE_OK(ok);
            BOOST_TEST(ok.res.status == 200);
            const json::object body = body_json(ok);
            BOOST_TEST(body.at("authenticated").as_bool());
            BOOST_TEST(str(body.if_contains("user")) == "user");
        }
    }
    // SHA-256 digest (RFC 7616) too.
    request sha = get("/digest-auth/auth/user/passwd/SHA-256");
    sha.options.auth = {.scheme = auth_scheme::digest, .username = "user", .password = "passwd"};
    auto sha_ok = fetch(sha);
    REQUIRE_OK(sha_ok);
    BOOST_TEST(sha_ok.res.status == 200);

    request wrong = get("/digest-auth/auth/user/passwd");
    wrong.options.auth = {.scheme = auth_scheme::digest, .username = "user", .password = "guess"};
    auto refused = fetch(wrong);
    REQUIRE_OK(refused);
    BOOST_TEST(refused.res.status == 401);

    // Basic credentials to a digest route are not what it asks for.
    request basic = get("/digest-auth/auth/user/passwd");
    basic.options.auth = {.scheme = auth_scheme::basic, .username = "user", .password = "passwd"};
    auto not_digest = fetch(basic);
    REQUIRE_OK(not_digest);
    BOOST_TEST(not_digest.res.status == 401);
}

BOOST_AUTO_TEST_CASE(a_slow_answer_times_out) {
    REQUIRE_HTTPBIN();
    request req = get("/delay/1");
    req.options.timeout = std::chrono::milliseconds(300);
    const auto start = steady::now();
    auto out = fetch(req);
    const auto elapsed = ms_between(start, steady::now());
    BOOST_TEST(out.ec == make_error_code(CURLE_OPERATION_TIMEDOUT), out.ec.message());
    BOOST_TEST(out.res.status == 0);
    BOOST_TEST(elapsed >= 250);
    BOOST_TEST(elapsed < 900); // well before the server's answer

    // The engine goes on (another of gunicorn's threads answers).
    auto next = fetch(get("/get"));
    REQUIRE_OK(next);
    BOOST_TEST(next.res.status == 200);
}

BOOST_AUTO_TEST_CASE(streamed_json_lines_arrive_whole) {
    REQUIRE_HTTPBIN();
    auto out = fetch(get("/stream/20"));
    REQUIRE_OK(out);
    BOOST_TEST(out.res.status == 200);
    // No Content-Length: gunicorn frames the generator's output as chunks.
    BOOST_TEST(std::string(out.res.headers.find("Transfer-Encoding").value_or("")) == "chunked");
    std::vector<json::value> lines;
    std::size_t from = 0;
    for (std::size_t nl; (nl = out.res.body.find('\n', from)) != std::string::npos; from = nl + 1)
        lines.push_back(json::parse(out.res.body.substr(from, nl - from)));
    BOOST_TEST(from == out.res.body.size()); // nothing after the last newline
    BOOST_TEST_REQUIRE(lines.size() == 20u);
    for (std::size_t i = 0; i < lines.size(); ++i)
        BOOST_TEST(lines[i].at("id").as_int64() == static_cast<std::int64_t>(i));
}

BOOST_AUTO_TEST_CASE(a_dripped_body_arrives_in_several_chunks) {
    REQUIRE_HTTPBIN();
    // Five bytes over half a second, one at a time.
    request req = get("/drip?numbytes=5&duration=0.5&delay=0");
    std::string body;
    int chunks = 0;
    req.on_body = [&](std::string_view chunk) {
        body += chunk;
        ++chunks;
    };
    auto out = fetch(req);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(body == "*****");
    BOOST_TEST(out.res.body.empty()); // on_body took it
    BOOST_TEST(chunks >= 2);
    BOOST_TEST(out.res.times.total >= std::chrono::milliseconds(300));
}

BOOST_AUTO_TEST_CASE(byte_routes_give_the_asked_size_and_repeat_with_a_seed) {
    REQUIRE_HTTPBIN();
    // httpbin caps /bytes at 100 KiB, whatever is asked.
    auto big = fetch(get("/bytes/1048576"));
    REQUIRE_OK(big);
    BOOST_TEST(big.res.body.size() == 100u * 1024);
    BOOST_TEST(std::string(big.res.headers.find("Content-Length").value_or("")) == "102400");

    auto a = fetch(get("/bytes/4096?seed=7"));
    auto b = fetch(get("/bytes/4096?seed=7"));
    REQUIRE_OK(a);
    REQUIRE_OK(b);
    BOOST_TEST(a.res.body.size() == 4096u);
    BOOST_TEST((a.res.body == b.res.body));

    // The same bytes, streamed in chunked encoding, 1000 bytes a chunk.
    auto streamed = fetch(get("/stream-bytes/4096?seed=7&chunk_size=1000"));
    REQUIRE_OK(streamed);
    BOOST_TEST(std::string(streamed.res.headers.find("Transfer-Encoding").value_or("")) == "chunked");
    BOOST_TEST((streamed.res.body == a.res.body));
}

BOOST_AUTO_TEST_CASE(ranges_are_partial_content) {
    REQUIRE_HTTPBIN();
    // /range/N serves the same 'a' + i % 26 pattern as the test server.
    request req = get("/range/1000");
    req.add_header("Range", "bytes=10-19");
    auto part = fetch(req);
    REQUIRE_OK(part);
    BOOST_TEST(part.res.status == 206);
    BOOST_TEST(part.res.body == pattern(1000).substr(10, 10));
    BOOST_TEST(std::string(part.res.headers.find("Content-Range").value_or("")) == "bytes 10-19/1000");

    // libcurl's own range option says the same.
    request by_option = get("/range/1000");
    by_option.set_option(CURLOPT_RANGE, "990-");
    auto tail = fetch(by_option);
    REQUIRE_OK(tail);
    BOOST_TEST(tail.res.status == 206);
    BOOST_TEST(tail.res.body == pattern(1000).substr(990));

    request beyond = get("/range/1000");
    beyond.add_header("Range", "bytes=2000-2010");
    auto unsatisfiable = fetch(beyond);
    REQUIRE_OK(unsatisfiable);
    BOOST_TEST(unsatisfiable.res.status == 416);
    BOOST_TEST(unsatisfiable.res.body.empty());
}

BOOST_AUTO_TEST_CASE(repeated_response_headers_are_all_kept) {
    REQUIRE_HTTPBIN();
    auto out = fetch(get("/response-headers?X-A=1&X-A=2&X-B=only"));
    REQUIRE_OK(out);
    const auto values = out.res.headers.find_all("x-a"); // any case
    BOOST_TEST_REQUIRE(values.size() == 2u);
    BOOST_TEST(values[0] == "1");
    BOOST_TEST(values[1] == "2");
    BOOST_TEST(out.res.headers.find_all("X-B").size() == 1u);
    // httpbin also lists them in its body.
    BOOST_TEST(body_json(out).at("X-A").as_array().size() == 2u);
}

BOOST_AUTO_TEST_CASE(request_headers_arrive_as_sent) {
    REQUIRE_HTTPBIN();
    request req = get("/headers");
    req.add_header("X-Custom", "hello there");
    req.add_header("X-Empty", ""); // sent with an empty value, not dropped
    req.options.user_agent = "curlasio-httpbin-test/1";
    auto out = fetch(req);
    REQUIRE_OK(out);
    const json::object body = body_json(out);
    const json::object& headers = body.at("headers").as_object();
    BOOST_TEST(str(headers.if_contains("X-Custom")) == "hello there");
    BOOST_TEST(str(headers.if_contains("X-Empty")) == "");
    BOOST_TEST(str(headers.if_contains("User-Agent")) == "curlasio-httpbin-test/1");
    BOOST_TEST(str(headers.if_contains("Host")) == "127.0.0.1:" + std::to_string(httpbin().port()));

    // An empty user agent sends none.
    request bare = get("/headers");
    bare.options.user_agent.clear();
    auto none = fetch(bare);
    REQUIRE_OK(none);
    BOOST_TEST(!body_json(none).at("headers").as_object().contains("User-Agent"));
}

BOOST_AUTO_TEST_CASE(methods_and_bodies_arrive_as_sent) {
    REQUIRE_HTTPBIN();
    request post(url("/anything/here?q=1"), verb::post);
    post.options.timeout = std::chrono::seconds(10);
    post.body = R"({"n": 42, "s": "x"})";
    post.add_header("Content-Type", "application/json");
    auto out = fetch(post);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.status == 200);
    json::object echoed = body_json(out);
    BOOST_TEST(str(echoed.if_contains("method")) == "POST");
    BOOST_TEST(str(echoed.if_contains("data")) == post.body);
    BOOST_TEST(echoed.at("json").at("n").as_int64() == 42);
    BOOST_TEST(str(echoed.at("args").as_object().if_contains("q")) == "1");
    BOOST_TEST(str(echoed.at("headers").as_object().if_contains("Content-Length")) ==
               std::to_string(post.body.size()));

    // A method libcurl has no option of its own for, with a body.
    request patch(url("/anything"), verb::patch);
    patch.options.timeout = std::chrono::seconds(10);
    patch.body = "k=v";
    patch.add_header("Content-Type", "application/x-www-form-urlencoded");
    auto patched = fetch(patch);
    REQUIRE_OK(patched);
    echoed = body_json(patched);
    BOOST_TEST(str(echoed.if_contains("method")) == "PATCH");
    BOOST_TEST(str(echoed.at("form").as_object().if_contains("k")) == "v");

    // A method the route does not allow is the server's 405, not an error.
    request purge(url("/anything"), curlasio::method("PURGE"));
    purge.options.timeout = std::chrono::seconds(10);
    auto refused = fetch(purge);
    REQUIRE_OK(refused);
    BOOST_TEST(refused.res.status == 405);
}

BOOST_AUTO_TEST_SUITE_END()

// The request builders (issue 12) against a real application server:
// Werkzeug decodes the query, the form and the multipart body, and answers
// JSON, which parse_json reads.
BOOST_FIXTURE_TEST_SUITE(httpbin_builders, fixture)

namespace {
// The answer as a JSON object through curlasio::json (its Content-Type is
// application/json).
json::object answer(const outcome& out) {
    std::string why;
    auto v = parse_json(out.res, &why);
    BOOST_TEST_REQUIRE(v.has_value(), why);
    BOOST_TEST_REQUIRE(v->is_object());
    return std::move(v->as_object());
}
} // namespace

BOOST_AUTO_TEST_CASE(query_parameters_are_decoded_as_sent) {
    REQUIRE_HTTPBIN();
    request req = get("/get?keep=1");
    req.add_query("q", "a b&c=d+e%").add_query("q", "\xC3\xA9").add_query("empty", "");
    auto out = fetch(req);
    REQUIRE_OK(out);
    const json::object args = answer(out).at("args").as_object();
    BOOST_TEST(args.at("keep") == json::value("1"));
    BOOST_TEST(args.at("q") == json::parse(R"(["a b&c=d+e%", "\u00e9"])"));
    BOOST_TEST(args.at("empty") == json::value(""));
}

BOOST_AUTO_TEST_CASE(a_form_is_decoded_as_sent) {
    REQUIRE_HTTPBIN();
    request req = get("/post");
    req.set_form({{"name", "J\xC3\xBCrgen Smith"}, {"expr", "1+1=2&3"}, {"tag", "a"}, {"tag", "b"}});
    auto out = fetch(req);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.status == 200);
    const json::object body = answer(out);
    const json::object form = body.at("form").as_object();
    BOOST_TEST(form.at("name") == json::value("J\u00fcrgen Smith"));
    BOOST_TEST(form.at("expr") == json::value("1+1=2&3"));
    BOOST_TEST(form.at("tag") == json::parse(R"(["a", "b"])"));
    BOOST_TEST(body.at("headers").at("Content-Type") == json::value("application/x-www-form-urlencoded"));
}

BOOST_AUTO_TEST_CASE(multipart_fields_and_files_are_decoded) {
    REQUIRE_HTTPBIN();
    char name[] = "/tmp/curlasio-httpbin-XXXXXX";
    const int fd = ::mkstemp(name);
    BOOST_TEST_REQUIRE(fd >= 0);
    const std::string text(200000, 'z');
    BOOST_TEST_REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
    ::close(fd);
    request req = get("/post");
    req.add_part(mime_part::text("title", "a b&c"))
        .add_part(mime_part::text("title", "\xC3\xA9"))
        .add_part(mime_part::file("upload", name, "text/plain"));
    auto out = fetch(req);
    ::unlink(name);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.status == 200);
    const json::object body = answer(out);
    BOOST_TEST(body.at("form").at("title") == json::parse(R"(["a b&c", "\u00e9"])"));
    BOOST_TEST(body.at("files").at("upload") == json::value(text));
    BOOST_TEST(std::string(body.at("headers").at("Content-Type").as_string())
                   .starts_with("multipart/form-data; boundary="));
}

BOOST_AUTO_TEST_CASE(a_json_body_is_read_back_as_json) {
    REQUIRE_HTTPBIN();
    request req = get("/post");
    const json::value sent = {{"name", "\xC3\xA9 \"q\""}, {"n", 1}, {"list", {true, nullptr}}};
    set_json(req, sent);
    auto out = fetch(req);
    REQUIRE_OK(out);
    const json::object body = answer(out);
    BOOST_TEST(body.at("json") == sent);
    BOOST_TEST(body.at("headers").at("Content-Type") == json::value("application/json"));
}

BOOST_AUTO_TEST_CASE(an_html_answer_is_not_taken_for_json) {
    REQUIRE_HTTPBIN();
    auto out = fetch(get("/html"));
    REQUIRE_OK(out);
    std::string why;
    auto v = parse_json(out.res, &why);
    BOOST_REQUIRE(v.has_error());
    BOOST_TEST(v.error() == make_error_code(curlasio::json_errc::not_json_content_type));
    BOOST_TEST(why.find("text/html") != std::string::npos, why);
}

BOOST_AUTO_TEST_SUITE_END()
