// curlasio::json (include/curlasio/json.hpp): a JSON body set on a request,
// a response body parsed, with where a bad one went wrong, and the
// Content-Type rule.

#include <curlasio/json.hpp>

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

using curlasio::parse_json;
using curlasio::request;
using curlasio::response;

namespace json = boost::json;

namespace {
response with(std::string body, const char* content_type) {
    response r;
    r.status = 200;
    if (content_type)
        r.headers.add("Content-Type", content_type);
    r.body = std::move(body);
    return r;
}
} // namespace

BOOST_AUTO_TEST_SUITE(json_helpers)

BOOST_AUTO_TEST_CASE(set_json_serializes_and_sets_the_type) {
    request r("http://h/");
    r.add_header("Content-Type", "text/plain");
    curlasio::set_json(r, {{"name", "a \"b\"\n\xC3\xA9"}, {"n", 1}, {"list", {1, 2}}});
    BOOST_TEST(r.method == "POST");
    BOOST_REQUIRE(r.headers.size() == 1u);
    BOOST_TEST(r.headers[0].second == "application/json");
    BOOST_TEST(json::parse(r.body) == json::parse(R"({"name":"a \"b\"\n\u00e9","n":1,"list":[1,2]})"));

    request put("http://h/", curlasio::verb::put);
    curlasio::set_json(put, nullptr);
    BOOST_TEST(put.method == "PUT");
    BOOST_TEST(put.body == "null");
}

BOOST_AUTO_TEST_CASE(a_json_body_parses) {
    for (const char* type : {"application/json", "Application/JSON; charset=utf-8",
                             "application/problem+json", static_cast<const char*>(nullptr)}) {
        BOOST_TEST_CONTEXT((type ? type : "(none)")) {
            auto v = parse_json(with(R"({"a":[1,"x"]})", type));
            BOOST_REQUIRE(v.has_value());
            BOOST_TEST(v->at("a").at(1).as_string() == "x");
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_json_says_where) {
    std::string why;
    auto v = parse_json(std::string_view("{\"a\": 1,\n  \"b\": tru }"), &why);
    BOOST_REQUIRE(v.has_error());
    BOOST_TEST((v.error().category() == json::make_error_code(json::error::syntax).category()));
    BOOST_TEST(why == "invalid JSON at byte 16 (line 2, column 8): " + v.error().message());

    auto cut = parse_json(std::string_view("[1, 2"), &why);
    BOOST_REQUIRE(cut.has_error());
    BOOST_TEST(cut.error() == json::make_error_code(json::error::incomplete));

    auto extra = parse_json(std::string_view("[1] [2]"), &why);
    BOOST_REQUIRE(extra.has_error());
    BOOST_TEST(extra.error() == json::make_error_code(json::error::extra_data));

    auto empty = parse_json(with("", "application/json"));
    BOOST_TEST(empty.has_error());
}

BOOST_AUTO_TEST_CASE(a_body_that_is_not_json_by_its_type_is_refused) {
    std::string why;
    auto v = parse_json(with("[1]", "text/html; charset=utf-8"), &why);
    BOOST_REQUIRE(v.has_error());
    BOOST_TEST(v.error() == make_error_code(curlasio::json_errc::not_json_content_type));
    BOOST_TEST(v.error().category().name() == std::string("curlasio.json"));
    BOOST_TEST(why == "the response's Content-Type is not JSON: text/html; charset=utf-8");
    BOOST_TEST(!curlasio::is_json_content_type("application/jsonx"));
    BOOST_TEST(!curlasio::is_json_content_type("text/json-seq"));
    BOOST_TEST(curlasio::is_json_content_type(" application/json ; q=1"));
    // The text itself is parsed whatever it came with.
    BOOST_TEST(parse_json(std::string_view("[1]")).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
