// Building requests (issue 12) against the in-process server: query
// parameters encoded by Boost.URL (X-Target of /echo shows what was sent),
// form bodies, multipart bodies through libcurl's MIME API (the /multipart
// route parses them and checksums each part), JSON bodies (curlasio::json).
// What a real application server decodes from them is in httpbin_test.cpp
// (suite httpbin_builders).

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <curlasio/json.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

namespace json = boost::json;
using namespace curlasio;
using namespace curlasio::test;

namespace {

#define REQUIRE_OK(out) BOOST_TEST_REQUIRE(!(out).ec, (out).ec.message() << ": " << (out).res.error_message)

// A file of `size` pseudo-random bytes (NUL and CRLF included), removed
// when it goes.
struct temp_file {
    std::string path;
    std::string bytes;
    explicit temp_file(std::size_t size) {
        char name[] = "/tmp/curlasio-builders-XXXXXX";
        const int fd = ::mkstemp(name);
        BOOST_TEST_REQUIRE(fd >= 0);
        ::close(fd);
        path = name;
        bytes.resize(size);
        std::uint64_t x = 0x9e3779b97f4a7c15ull;
        for (auto& c : bytes) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            c = static_cast<char>(x);
        }
        std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    ~temp_file() { std::remove(path.c_str()); }
};

std::string fnv_hex(std::string_view bytes) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a(fnv1a_offset, bytes)));
    return hex;
}

// One line of the /multipart route's report.
std::string part_line(std::string_view name, std::string_view filename, std::string_view type,
                      std::string_view content, std::string_view headers = {}) {
    return "name=" + std::string(name) + " filename=" + std::string(filename) + " type=" + std::string(type) +
           " size=" + std::to_string(content.size()) + " fnv=" + fnv_hex(content) +
           " headers=" + std::string(headers) + "\n";
}

// Whether a descriptor of this process refers to `path`.
bool file_is_open(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc/self/fd", ec)) {
        std::error_code link_ec;
        if (fs::read_symlink(entry.path(), link_ec) == path)
            return true;
    }
    return false;
}

std::string header_of(const outcome& out, std::string_view name) {
    return std::string(out.res.headers.find(name).value_or("<none>"));
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(builders, engine_fixture)

BOOST_AUTO_TEST_CASE(query_parameters_are_encoded_and_appended) {
    request req(server.url("/echo?keep=1%2F2"));
    req.add_query("q", "a b&c=d+e#f%")
        .add_query("q", "\xC3\xA9\xE2\x82\xAC") // repeats kept, UTF-8 byte by byte
        .add_query("", "")
        .add_query("k~._-", "/?");
    req.url += "#fragment"; // never sent
    auto out = fetch_sync(io, eng, req);
    REQUIRE_OK(out);
    BOOST_TEST(header_of(out, "X-Target") ==
               "/echo?keep=1%2F2&q=a%20b%26c%3Dd%2Be%23f%25&q=%C3%A9%E2%82%AC&=&k~._-=%2F%3F");
    BOOST_TEST(header_of(out, "X-Method") == "GET");
}

BOOST_AUTO_TEST_CASE(a_query_on_a_url_that_does_not_parse_is_refused) {
    const std::size_t seen = server.requests_seen();
    request req(server.base_url() + "/a path");
    req.add_query("a", "1");
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST((out.ec == errc::invalid_request));
    BOOST_TEST(out.res.error_message.find("add_query") != std::string::npos, out.res.error_message);
    BOOST_TEST(server.requests_seen() == seen);
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(a_form_body_is_urlencoded_with_its_content_type) {
    request req(server.url("/echo"));
    req.set_form({{"name", "J\xC3\xBCrgen Smith"}, {"expr", "1+1=2&3"}, {"name", ""}, {"", "x"}});
    auto out = fetch_sync(io, eng, req);
    REQUIRE_OK(out);
    BOOST_TEST(header_of(out, "X-Method") == "POST");
    BOOST_TEST(header_of(out, "X-Echo-Content-Type") == "application/x-www-form-urlencoded");
    BOOST_TEST(out.res.body == "name=J%C3%BCrgen+Smith&expr=1%2B1%3D2%263&name=&=x");
}

BOOST_AUTO_TEST_CASE(multipart_parts_arrive_as_described) {
    const temp_file file(3 * 1024 * 1024 + 17); // a few MiB, streamed by libcurl from disk
    request req(server.url("/multipart"));
    req.add_part(mime_part::text("title", "hello world"))
        .add_part(mime_part::text("empty", ""))
        .add_part(mime_part::text("utf8", "\xC3\xA9t\xC3\xA9", "text/plain; charset=utf-8"))
        .add_part(mime_part::bytes("blob", std::string("a\0b\r\n--c", 8), "blob.bin", "application/x-test"))
        .add_part(mime_part::file("upload", file.path, "application/octet-stream"));
    mime_part with_headers = mime_part::text("meta", "{}", "application/json");
    with_headers.headers = {{"X-Part", "one"}, {"Content-ID", "<m@x>"}};
    req.add_part(with_headers);
    mime_part renamed = mime_part::file("renamed", file.path);
    renamed.filename = "report.txt"; // libcurl types it by this name's extension
    req.add_part(renamed);

    auto out = fetch_sync(io, eng, req);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.status == 200, out.res.body);
    BOOST_TEST(header_of(out, "X-Method") == "POST");
    const std::string base = file.path.substr(file.path.rfind('/') + 1);
    const std::string expected =
        part_line("title", "", "", "hello world") + part_line("empty", "", "", "") +
        part_line("utf8", "", "text/plain; charset=utf-8", "\xC3\xA9t\xC3\xA9") +
        part_line("blob", "blob.bin", "application/x-test", std::string("a\0b\r\n--c", 8)) +
        part_line("upload", base, "application/octet-stream", file.bytes) +
        part_line("meta", "", "application/json", "{}", "X-Part: one|Content-ID: <m@x>") +
        part_line("renamed", "report.txt", "text/plain", file.bytes);
    BOOST_TEST(out.res.body == expected);
}

BOOST_AUTO_TEST_CASE(a_file_part_is_streamed_not_loaded) {
    // A sparse file: libcurl reads it as it sends; /sink never holds it.
    const std::uint64_t size = (sanitized ? 64 : 256) * std::uint64_t{1024 * 1024};
    char name[] = "/tmp/curlasio-builders-big-XXXXXX";
    const int fd = ::mkstemp(name);
    BOOST_TEST_REQUIRE(fd >= 0);
    BOOST_TEST_REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
    ::close(fd);
    rss_peak rss;
    request req(server.url("/sink"));
    req.add_part(mime_part::file("big", name));
    req.on_progress = [&](const transfer_progress&) { rss.sample(); };
    auto out = fetch_sync(io, eng, req);
    rss.sample();
    BOOST_TEST(!file_is_open(name)); // libcurl closed it
    ::unlink(name);
    REQUIRE_OK(out);
    BOOST_TEST(header_of(out, "X-Method") == "POST");
    // "<size> <fnv> length": the multipart body (parts' heads, boundaries
    // and the file), sent with a Content-Length libcurl computed.
    const auto space = out.res.body.find(' ');
    const std::uint64_t sent = std::stoull(out.res.body.substr(0, space));
    BOOST_TEST(sent > size);
    BOOST_TEST(sent < size + 1024);
    BOOST_TEST(out.res.body.ends_with(" length"), out.res.body);
    BOOST_TEST_MESSAGE("multipart file part of " << size / (1024 * 1024) << " MiB: RSS grew by "
                                                 << rss.growth_mib() << " MiB");
    if (sanitized)
        BOOST_TEST_MESSAGE("RSS bound not asserted under a sanitizer (quarantine and shadow memory)");
    else
        BOOST_TEST(rss.growth_mib() < 16.0);
}

BOOST_AUTO_TEST_CASE(multipart_with_another_method) {
    request req(server.url("/multipart"), verb::put);
    req.add_part(mime_part::text("a", "1"));
    BOOST_TEST(req.method == "PUT");
    auto out = fetch_sync(io, eng, req);
    REQUIRE_OK(out);
    BOOST_TEST(header_of(out, "X-Method") == "PUT");
    BOOST_TEST(out.res.body == part_line("a", "", "", "1"));
}

BOOST_AUTO_TEST_CASE(an_unreadable_file_part_fails_before_sending) {
    const std::size_t fds = open_fd_count();
    const std::size_t seen = server.requests_seen();
    request req(server.url("/multipart"));
    req.add_part(mime_part::text("a", "1")).add_part(mime_part::file("upload", "/nonexistent/curlasio.bin"));
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(out.ec == error_code(CURLE_READ_ERROR, curl_easy_category()));
    BOOST_TEST(
        out.res.error_message ==
        "multipart part \"upload\": cannot read the file \"/nonexistent/curlasio.bin\" (No such file or "
        "directory)");
    BOOST_TEST(server.requests_seen() == seen);
    BOOST_TEST(eventually([&] { return open_fd_count() <= fds; }));
    expect_fetch_works();
}

BOOST_AUTO_TEST_CASE(the_handle_is_clean_after_a_multipart_transfer) {
    // The engine reuses the easy handle (curl_easy_reset): the next fetch
    // must not send the old parts, nor POST.
    for (int round = 0; round < 3; ++round) {
        BOOST_TEST_CONTEXT("round " << round) {
            request mp(server.url("/multipart"));
            mp.add_part(mime_part::text("a", std::string(100000, 'x')));
            auto first = fetch_sync(io, eng, mp);
            REQUIRE_OK(first);
            BOOST_TEST(first.res.body == part_line("a", "", "", std::string(100000, 'x')));

            auto plain = fetch_sync(io, eng, request(server.url("/echo")));
            REQUIRE_OK(plain);
            BOOST_TEST(header_of(plain, "X-Method") == "GET");
            BOOST_TEST(header_of(plain, "X-Body-Size") == "0");
            BOOST_TEST(header_of(plain, "X-Echo-Content-Type") == "<none>");
        }
    }
}

BOOST_AUTO_TEST_CASE(a_json_body_goes_out_and_comes_back) {
    request req(server.url("/echo"));
    const json::value sent = {{"name", "a \"quoted\" value"}, {"n", 42}, {"list", {1, 2.5, nullptr}}};
    set_json(req, sent);
    auto out = fetch_sync(io, eng, req);
    REQUIRE_OK(out);
    BOOST_TEST(header_of(out, "X-Method") == "POST");
    BOOST_TEST(header_of(out, "X-Echo-Content-Type") == "application/json");
    // /echo answers application/octet-stream: parse_json(response) refuses
    // it, the body itself parses.
    std::string why;
    auto refused = parse_json(out.res, &why);
    BOOST_REQUIRE(refused.has_error());
    BOOST_TEST(refused.error() == make_error_code(curlasio::json_errc::not_json_content_type));
    BOOST_TEST(why == "the response's Content-Type is not JSON: application/octet-stream");
    auto back = parse_json(out.res.body);
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST(*back == sent);
}

BOOST_AUTO_TEST_CASE(bad_json_in_a_response_says_where) {
    auto out = fetch_sync(io, eng, request(server.url("/hello"))); // "hello world"
    REQUIRE_OK(out);
    std::string why;
    auto v = parse_json(out.res.body, &why);
    BOOST_REQUIRE(v.has_error());
    BOOST_TEST((v.error().category() == json::make_error_code(json::error::syntax).category()));
    BOOST_TEST(why.starts_with("invalid JSON at byte 0 (line 1, column 1): "), why);
}

BOOST_AUTO_TEST_SUITE_END()
