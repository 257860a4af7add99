// The response head parser, line by line as libcurl's header callback hands
// the lines over: no handle, no socket.

#include <curlasio/detail/response_head_parser.hpp>

#include <boost/test/unit_test.hpp>

#include <initializer_list>
#include <string_view>
#include <vector>

using curlasio::detail::response_head_parser;
using event = response_head_parser::event;

namespace {

event feed(response_head_parser& p, std::initializer_list<std::string_view> lines) {
    event last = event::line;
    for (std::string_view l : lines)
        last = p.on_line(l);
    return last;
}

} // namespace

BOOST_AUTO_TEST_SUITE(response_head_parser_suite)

BOOST_AUTO_TEST_CASE(status_reason_and_fields_in_order_with_repeats) {
    response_head_parser p;
    BOOST_TEST((feed(p, {"HTTP/1.1 404 Not Found\r\n", "Content-Type: text/plain\r\n", "Set-Cookie: a=1\r\n",
                         "set-cookie:  b=2 \r\n", "\r\n"}) == event::final_end));
    BOOST_TEST(p.status() == 404);
    BOOST_TEST(p.reason() == "Not Found");
    BOOST_TEST(p.final_head_done());
    BOOST_TEST(p.headers().size() == 3u);
    BOOST_TEST(p.headers().find("content-type").value_or("") == "text/plain");
    auto cookies = p.headers().find_all("Set-Cookie");
    BOOST_TEST_REQUIRE(cookies.size() == 2u);
    BOOST_TEST(cookies[0] == "a=1");
    BOOST_TEST(cookies[1] == "b=2"); // trimmed
}

BOOST_AUTO_TEST_CASE(head_bytes_count_every_line_of_the_current_head) {
    response_head_parser p;
    p.on_line("HTTP/1.1 200 OK\r\n");
    BOOST_TEST(p.head_bytes() == 17u);
    p.on_line("X-A: 1\r\n");
    BOOST_TEST(p.head_bytes() == 25u);
    p.on_line("\r\n");
    BOOST_TEST(p.head_bytes() == 27u);
    // A redirect's head starts counting again.
    p.on_line("HTTP/1.1 200 OK\r\n");
    BOOST_TEST(p.head_bytes() == 17u);
    BOOST_TEST(!p.final_head_done());
}

BOOST_AUTO_TEST_CASE(interim_heads_are_replaced_by_the_final_one) {
    response_head_parser p;
    BOOST_TEST((feed(p, {"HTTP/1.1 100 Continue\r\n", "X-Interim: yes\r\n", "\r\n"}) == event::interim_end));
    BOOST_TEST(!p.final_head_done());
    BOOST_TEST(p.status() == 100);
    BOOST_TEST((feed(p, {"HTTP/1.1 201 Created\r\n", "Location: /x\r\n", "\r\n"}) == event::final_end));
    BOOST_TEST(p.status() == 201);
    BOOST_TEST(!p.headers().find("X-Interim"));
    BOOST_TEST(p.headers().find("Location").value_or("") == "/x");
}

BOOST_AUTO_TEST_CASE(redirect_heads_keep_only_the_last) {
    response_head_parser p;
    feed(p, {"HTTP/1.1 302 Found\r\n", "Location: /next\r\n", "\r\n"});
    BOOST_TEST(p.final_head_done());
    feed(p, {"HTTP/2 200\r\n", "x-last: 1\r\n", "\r\n"});
    BOOST_TEST(p.status() == 200);
    BOOST_TEST(p.reason().empty()); // HTTP/2 has none
    BOOST_TEST(!p.headers().find("Location"));
    BOOST_TEST(p.headers().find("X-Last").value_or("") == "1");
}

// Found by the transfer fuzzer (the end-to-end case is in fault_test.cpp):
// a field that starts with "HTTP/" is not a status line, and must neither
// restart the head nor overflow the status.
BOOST_AUTO_TEST_CASE(a_field_looking_like_a_status_line_is_a_field) {
    response_head_parser p;
    feed(p, {"HTTP/1.1 200 OK\r\n", "X-A: 1\r\n", "HTTP/1.1 99999999999: x\r\n", "Content-Length: 5\r\n",
             "\r\n"});
    BOOST_TEST(p.status() == 200);
    BOOST_TEST(p.reason() == "OK");
    BOOST_TEST(p.headers().find("X-A").value_or("") == "1");
    BOOST_TEST(p.headers().find("Content-Length").value_or("") == "5");
}

BOOST_AUTO_TEST_CASE(status_digits_are_bounded_to_three) {
    response_head_parser p;
    p.on_line("HTTP/1.1 2000000000000 Big\r\n");
    BOOST_TEST(p.status() == 200);
}

BOOST_AUTO_TEST_CASE(folded_lines_continue_the_previous_field_and_junk_is_skipped) {
    response_head_parser p;
    feed(p, {"HTTP/1.1 200 OK\r\n", "X-Long: first\r\n", "\t second\r\n", "no colon here\r\n", "   \r\n",
             "\r\n"});
    BOOST_TEST(p.headers().size() == 1u);
    BOOST_TEST(p.headers().find("X-Long").value_or("") == "first second");
    // A continuation with no field before it is dropped, not a crash.
    response_head_parser q;
    feed(q, {"HTTP/1.1 200 OK\r\n", " orphan\r\n", "\r\n"});
    BOOST_TEST(q.headers().size() == 0u);
}

BOOST_AUTO_TEST_CASE(bare_lf_ends_a_head_too) {
    response_head_parser p;
    BOOST_TEST((feed(p, {"HTTP/1.0 200 OK\n", "A: b\n", "\n"}) == event::final_end));
    BOOST_TEST(p.headers().find("A").value_or("") == "b");
}

// Issue 23 (5): a Content-Length beside Transfer-Encoding described the
// chunked body libcurl decodes as 5 bytes of 100; a proxy forwarding it
// desynchronised its client.
BOOST_AUTO_TEST_CASE(transfer_encoding_drops_every_content_length) {
    response_head_parser p;
    BOOST_TEST((feed(p, {"HTTP/1.1 200 OK\r\n", "Content-Length: 5\r\n", "X-A: 1\r\n",
                         "transfer-encoding: chunked\r\n", "CONTENT-LENGTH: 7\r\n", "X-B: 2\r\n", "\r\n"}) ==
                event::final_end));
    BOOST_TEST(!p.headers().contains("content-length"));
    BOOST_TEST(p.headers().find("Transfer-Encoding").value_or("") == "chunked");
    BOOST_TEST_REQUIRE(p.headers().size() == 3u);
    auto it = p.headers().begin();
    BOOST_TEST((*it).first == "X-A");
    BOOST_TEST((*++it).first == "transfer-encoding");
    BOOST_TEST((*++it).second == "2");

    // Without Transfer-Encoding the length stays; an interim head is left alone.
    BOOST_TEST((feed(p, {"HTTP/1.1 200 OK\r\n", "Content-Length: 5\r\n", "\r\n"}) == event::final_end));
    BOOST_TEST(p.headers().find("content-length").value_or("") == "5");
}

// A hostile upstream's lengths: libcurl frames by the last one's leading
// digits; a reader taking the first would read 5 bytes of 100.
BOOST_AUTO_TEST_CASE(several_lengths_become_the_one_libcurl_frames_by) {
    response_head_parser p;
    feed(p,
         {"HTTP/1.1 200 OK\r\n", "Content-Length: 5\r\n", "X-A: 1\r\n", "Content-Length: 100\r\n", "\r\n"});
    BOOST_TEST((p.headers().find_all("content-length") == std::vector<std::string_view>{"100"}));
    BOOST_TEST((*p.headers().begin()).first == "Content-Length"); // where the first was
    feed(p, {"HTTP/1.1 200 OK\r\n", "Content-Length: 5, 100\r\n", "\r\n"});
    BOOST_TEST((p.headers().find_all("content-length") == std::vector<std::string_view>{"5"}));
    feed(p, {"HTTP/1.1 200 OK\r\n", "Content-Length: 99999999999999999999\r\n", "X-A: 1\r\n", "\r\n"});
    BOOST_TEST(!p.headers().contains("content-length")); // overflowing: libcurl reads to the close
    BOOST_TEST(p.headers().size() == 1u);
}

// A bare CR inside a field, forwarded as it came, ends the line for some
// readers: "X-A: a\rContent-Length: 0" would smuggle a length past libcurl.
BOOST_AUTO_TEST_CASE(cr_and_nul_inside_a_field_become_spaces) {
    response_head_parser p;
    using namespace std::string_view_literals;
    feed(p, {"HTTP/1.1 200 OK\r\n", "X-A: a\rContent-Length: 0\r\n", "X-B: b\0c\r\n"sv, "X\rC: d\r\n",
             "Content-Length: 5\r\n", "\r\n"});
    BOOST_TEST(p.headers().size() == 3u);
    BOOST_TEST(p.headers().find("x-a").value_or("") == "a Content-Length: 0");
    BOOST_TEST(p.headers().find("x-b").value_or("") == "b c");
    BOOST_TEST((p.headers().find_all("content-length") == std::vector<std::string_view>{"5"}));
}

BOOST_AUTO_TEST_SUITE_END()
