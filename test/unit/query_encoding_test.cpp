// The sans-io encoders behind request::add_query and request::set_form
// (src/detail/query_encoding), and the request builders over them: awkward
// names and values, repeats, existing queries and fragments, URLs that do
// not parse, the methods and headers the builders set.

#include "detail/query_encoding.hpp"

#include <curlasio/request.hpp>

#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

using curlasio::request;
using curlasio::detail::append_query;
using curlasio::detail::form_urlencode;
using curlasio::detail::space_as;
using curlasio::detail::url_encode;

BOOST_AUTO_TEST_SUITE(query_encoding)

BOOST_AUTO_TEST_CASE(only_unreserved_characters_stay_as_they_are) {
    BOOST_TEST(url_encode("AZaz09-._~", space_as::percent20) == "AZaz09-._~");
    BOOST_TEST(url_encode("a b", space_as::percent20) == "a%20b");
    BOOST_TEST(url_encode("a b", space_as::plus) == "a+b");
    // '+' is never left alone: a form decoder would read it as a space.
    BOOST_TEST(url_encode("1+1", space_as::percent20) == "1%2B1");
    BOOST_TEST(url_encode("1+1", space_as::plus) == "1%2B1");
    BOOST_TEST(url_encode("&=#%?/", space_as::percent20) == "%26%3D%23%25%3F%2F");
    BOOST_TEST(url_encode("\xC3\xA9\xE2\x82\xAC", space_as::percent20) == "%C3%A9%E2%82%AC"); // é€
    BOOST_TEST(url_encode(std::string("a\0b", 3), space_as::percent20) == "a%00b");
    BOOST_TEST(url_encode("", space_as::plus) == "");
}

BOOST_AUTO_TEST_CASE(a_form_joins_its_fields_in_order) {
    BOOST_TEST(form_urlencode({}) == "");
    BOOST_TEST(form_urlencode({{"a", "1"}, {"a", "2"}, {"b c", "d&e=f+g"}, {"", ""}}) ==
               "a=1&a=2&b+c=d%26e%3Df%2Bg&=");
}

BOOST_AUTO_TEST_CASE(a_query_is_appended_to_what_the_url_has) {
    std::string why;
    std::string url = "http://h/p";
    BOOST_TEST(append_query(url, "q", "a b", why));
    BOOST_TEST(url == "http://h/p?q=a%20b");
    BOOST_TEST(append_query(url, "q", "1+1", why)); // repeats allowed
    BOOST_TEST(url == "http://h/p?q=a%20b&q=1%2B1");

    url = "http://h/p?x=1&y=%2F#frag";
    BOOST_TEST(append_query(url, "&", "=", why));
    BOOST_TEST(url == "http://h/p?x=1&y=%2F&%26=%3D#frag"); // existing kept as it was, fragment last

    url = "http://h/p?";
    BOOST_TEST(append_query(url, "a", "", why));
    BOOST_TEST(url == "http://h/p?a=");

    url = "/relative/path"; // a reference resolves later (a session's base URL)
    BOOST_TEST(append_query(url, "k", "v", why));
    BOOST_TEST(url == "/relative/path?k=v");
}

BOOST_AUTO_TEST_CASE(a_url_that_does_not_parse_is_left_alone) {
    std::string why;
    for (std::string bad : {"http://[::1/p", "http://h/a b", "http://h/%zz"}) {
        BOOST_TEST_CONTEXT(bad) {
            std::string url = bad;
            why.clear();
            BOOST_TEST(!append_query(url, "a", "b", why));
            BOOST_TEST(url == bad);
            BOOST_TEST(!why.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(add_query_on_a_bad_url_makes_the_request_malformed) {
    request ok("http://h/p");
    ok.add_query("a", "1").add_query("b", "2");
    BOOST_TEST(ok.url == "http://h/p?a=1&b=2");
    BOOST_TEST(ok.is_well_formed());

    request bad("http://h/a b");
    bad.add_query("a", "1");
    BOOST_TEST(bad.url == "http://h/a b");
    BOOST_TEST(!bad.is_well_formed());
    BOOST_TEST(bad.why_malformed() ==
               "add_query was given a URL that does not parse as an RFC 3986 URI reference");
}

BOOST_AUTO_TEST_CASE(set_form_sets_body_type_and_method) {
    request r("http://h/");
    r.add_header("content-type", "text/plain").add_header("X-Other", "1");
    r.set_form({{"name", "J\xC3\xBCrgen M"}, {"op", "a+b"}});
    BOOST_TEST(r.method == "POST");
    BOOST_TEST(r.body == "name=J%C3%BCrgen+M&op=a%2Bb");
    BOOST_REQUIRE(r.headers.size() == 2u);
    BOOST_TEST(r.headers[0].first == "content-type"); // replaced where it was
    BOOST_TEST(r.headers[0].second == "application/x-www-form-urlencoded");
    BOOST_TEST(r.headers[1].first == "X-Other");

    request put("http://h/", curlasio::verb::put);
    put.set_form({});
    BOOST_TEST(put.method == "PUT");
    BOOST_TEST(put.body == "");
}

BOOST_AUTO_TEST_CASE(set_header_replaces_every_header_of_that_name) {
    request r("http://h/");
    r.add_header("A", "1").add_header("B", "2").add_header("a", "3");
    r.set_header("a", "x");
    BOOST_REQUIRE(r.headers.size() == 2u);
    BOOST_TEST(r.headers[0].second == "x");
    BOOST_TEST(r.headers[1].first == "B");
    r.set_header("C", "new");
    BOOST_TEST(r.headers.size() == 3u);
}

BOOST_AUTO_TEST_CASE(a_part_with_a_line_break_makes_the_request_malformed) {
    using curlasio::mime_part;
    request r("http://h/");
    r.add_part(mime_part::text("a", "any\r\nbytes\0are fine"));
    BOOST_TEST(r.method == "POST");
    BOOST_TEST(r.is_well_formed());
    for (int field = 0; field < 5; ++field) {
        BOOST_TEST_CONTEXT("field " << field) {
            request bad = r;
            mime_part p = mime_part::text("b", "v");
            switch (field) {
            case 0:
                p.name = "b\r\nX: 1";
                break;
            case 1:
                p.content_type = "text/plain\r\nX: 1";
                break;
            case 2:
                p.filename = "a\nb";
                break;
            case 3:
                p.headers = {{"X-A", "1\r\n"}};
                break;
            case 4:
                p.headers = {{"X:A", "1"}};
                break;
            }
            bad.add_part(p);
            BOOST_TEST(!bad.is_well_formed());
            BOOST_TEST(bad.why_malformed().starts_with("a multipart part's"));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
