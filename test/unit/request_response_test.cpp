// request::is_well_formed and why_malformed (header injection refused before
// anything is sent, saying why), curlasio::method (a body cannot be passed
// where the method goes),
// the set_option escape hatch on a real easy handle (no transfer), and
// header_list lookups.

#include <curlasio/request.hpp>
#include <curlasio/response.hpp>

#include <boost/test/unit_test.hpp>

#include <curl/curl.h>

#include <functional>
#include <stdexcept>
#include <type_traits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

using curlasio::header_list;
using curlasio::request;

namespace {

using easy_ptr = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;

easy_ptr make_easy() {
    easy_ptr h(curl_easy_init(), &curl_easy_cleanup);
    BOOST_REQUIRE(h);
    return h;
}

// Applies every stored setter, returning their results in order.
std::vector<CURLcode> apply(const request& r, CURL* h) {
    std::vector<CURLcode> out;
    for (const auto& set : r.options.curl_options)
        out.push_back(set(h));
    return out;
}

std::string effective_url(CURL* h) {
    char* url = nullptr;
    BOOST_REQUIRE(curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &url) == CURLE_OK);
    return url ? url : "";
}

request good_request() {
    request r("https://example.test/path?q=1", curlasio::verb::post);
    r.add_header("Content-Type", "application/json")
        .add_header("X-Empty", "")
        .add_header("X-Colon-In-Value", "a:b: c");
    r.body = "line 1\r\nline 2\0end"; // bodies are bytes: CR/LF are fine there
    return r;
}

} // namespace

BOOST_AUTO_TEST_SUITE(request_suite)

BOOST_AUTO_TEST_CASE(accepts_normal_requests) {
    BOOST_TEST(request("http://localhost/").is_well_formed());
    BOOST_TEST(good_request().is_well_formed());
    request r("http://localhost/");
    r.options.user_agent.clear(); // no User-Agent at all
    BOOST_TEST(r.is_well_formed());
    for (const char* m : {"GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND"})
        BOOST_TEST(request("http://localhost/", curlasio::method(m)).is_well_formed());
}

BOOST_AUTO_TEST_CASE(rejects_cr_lf_nul_everywhere) {
    const std::string bad_chars[] = {std::string("\r"), std::string("\n"), std::string(1, '\0'),
                                     std::string("\r\n")};
    // Each field, with the bad character at the start, middle and end.
    const std::function<void(request&, const std::string&)> fields[] = {
        [](request& r, const std::string& s) { r.method = s; },
        [](request& r, const std::string& s) { r.url = s; },
        [](request& r, const std::string& s) { r.options.user_agent = s; },
        [](request& r, const std::string& s) { r.add_header(s, "value"); },
        [](request& r, const std::string& s) { r.add_header("X-Name", s); },
        [](request& r, const std::string& s) { r.headers.front().second = s; },
    };
    const char* field_names[] = {"method",      "url",          "user_agent",
                                 "header name", "header value", "first header value"};
    for (std::size_t f = 0; f < std::size(fields); ++f)
        for (const std::string& c : bad_chars)
            for (int where = 0; where < 3; ++where) {
                std::string s = where == 0 ? c + "Abc" : where == 1 ? "Ab" + c + "c" : "Abc" + c;
                request r = good_request();
                fields[f](r, s);
                BOOST_TEST_CONTEXT(field_names[f] << ", char " << int(c[0]) << ", pos " << where) {
                    BOOST_TEST(!r.is_well_formed());
                }
            }
}

BOOST_AUTO_TEST_CASE(rejects_bad_names_and_methods) {
    request r = good_request();
    r.add_header("X-Bad:Name", "v");
    BOOST_TEST(!r.is_well_formed());

    r = good_request();
    r.add_header(":authority", "v");
    BOOST_TEST(!r.is_well_formed());

    r = good_request();
    r.add_header("", "v");
    BOOST_TEST(!r.is_well_formed());

    r = good_request();
    r.method = "GET /evil HTTP/1.1";
    BOOST_TEST(!r.is_well_formed());
    r.method = "GET ";
    BOOST_TEST(!r.is_well_formed());
    r.method = "";
    BOOST_TEST(!r.is_well_formed());
}

// Each refusal says which field and why; the first wrong field, in the
// order method, URL, user agent, headers, credentials, is the one named.
BOOST_AUTO_TEST_CASE(why_malformed_names_the_field_and_the_reason) {
    BOOST_TEST(good_request().why_malformed().empty());
    BOOST_TEST(request("http://localhost/").why_malformed().empty());
    const std::string nul(1, '\0');
    struct bad_case {
        std::function<void(request&)> spoil;
        std::string_view why;
    };
    const bad_case cases[] = {
        {[](request& r) { r.method = "GET /evil HTTP/1.1"; }, "the method holds a space"},
        {[](request& r) { r.method.clear(); }, "the method is empty"},
        {[&](request& r) { r.method = "GE" + nul + "T"; }, "the method holds CR, LF or NUL"},
        {[](request& r) { r.url += "\r\nX-Evil: 1"; }, "the URL holds CR, LF or NUL"},
        {[](request& r) { r.options.user_agent = "agent\n"; }, "the user agent holds CR, LF or NUL"},
        {[](request& r) { r.add_header("X-Bad:Name", "v"); }, "a header name holds ':'"},
        {[](request& r) { r.add_header("", "v"); }, "a header name is empty"},
        {[](request& r) { r.add_header("X\rY", "v"); }, "a header name holds CR, LF or NUL"},
        {[](request& r) { r.add_header("X-Ok", "a\r\nb"); }, "a header value holds CR, LF or NUL"},
        {[](request& r) { r.options.auth.bearer_token = "t\r\nX-Evil: 1"; },
         "a user name, password or bearer token holds CR, LF or NUL"},
        {[](request& r) { r.options.auth.username = "user\n"; },
         "a user name, password or bearer token holds CR, LF or NUL"},
        {[&](request& r) { r.options.proxy.password = "pass" + nul; },
         "a user name, password or bearer token holds CR, LF or NUL"},
        // Two faults: the method comes first.
        {[](request& r) {
             r.method = "A B";
             r.add_header("X:Y", "v");
         },
         "the method holds a space"},
    };
    for (const bad_case& c : cases) {
        request r = good_request();
        c.spoil(r);
        BOOST_TEST_CONTEXT("expected: " << c.why) {
            BOOST_TEST(r.why_malformed() == c.why);
            BOOST_TEST(!r.is_well_formed());
        }
    }
}

// The papercut: request(url, "{\"k\":1}") compiled and sent the JSON as
// the method. A string is not a method unless spelled out as one.
static_assert(!std::is_constructible_v<request, std::string, const char*>);
static_assert(!std::is_constructible_v<request, std::string, std::string>);
static_assert(!std::is_constructible_v<request, const char*, std::string_view>);
static_assert(std::is_constructible_v<request, std::string, curlasio::verb>);
static_assert(std::is_constructible_v<request, std::string, curlasio::method>);
static_assert(std::is_convertible_v<curlasio::verb, curlasio::method>);
static_assert(!std::is_convertible_v<const char*, curlasio::method>);
static_assert(!std::is_convertible_v<std::string, curlasio::method>);
static_assert(std::is_constructible_v<curlasio::method, const char*>); // explicitly
static_assert(!std::is_convertible_v<int, curlasio::method>);

BOOST_AUTO_TEST_CASE(verbs_and_methods) {
    using curlasio::method;
    using curlasio::verb;
    const std::pair<verb, std::string_view> verbs[] = {{verb::get, "GET"},        {verb::head, "HEAD"},
                                                       {verb::post, "POST"},      {verb::put, "PUT"},
                                                       {verb::delete_, "DELETE"}, {verb::options, "OPTIONS"},
                                                       {verb::trace, "TRACE"},    {verb::patch, "PATCH"}};
    for (const auto& [v, name] : verbs) {
        BOOST_TEST(curlasio::to_string(v) == name);
        BOOST_TEST(method(v).str() == name);
        BOOST_TEST((method(v) == v));
        BOOST_TEST(request("http://localhost/", v).method == name);
        BOOST_TEST(request("http://localhost/", v).is_well_formed());
    }
    BOOST_TEST(request("http://localhost/").method == "GET");
    BOOST_TEST((method("GET") == method(verb::get)));
    BOOST_TEST((method("get") != method(verb::get))); // case-sensitive, sent as given
    BOOST_TEST(request("http://localhost/", method("PROPFIND")).method == "PROPFIND");
    BOOST_TEST(method("M-SEARCH").str() == "M-SEARCH");
    BOOST_TEST(method("X!#$%&'*+-.^_`|~9").str() == "X!#$%&'*+-.^_`|~9"); // every tchar

    for (const char* bad : {"{\"k\":1}", "", "GET /admin", "GET\r\n", "A\"B", "(x)", "a,b", "A/B", "A@B",
                            "A=B", "\x7f", "\xc3\xa9"})
        BOOST_TEST_CONTEXT("method \"" << bad << "\"") {
            BOOST_CHECK_THROW(method{std::string_view(bad)}, std::invalid_argument);
            BOOST_TEST(!curlasio::is_token(bad));
        }
    BOOST_CHECK_THROW(method(std::string_view("GE\0T", 4)), std::invalid_argument);
    static_assert(curlasio::is_token("PURGE"));
    static_assert(!curlasio::is_token("PURGE ME"));
}

// The field stays a plain string (for a method known only at run time), so
// why_malformed checks it is a token too.
BOOST_AUTO_TEST_CASE(a_method_that_is_not_a_token_is_malformed) {
    const std::string_view why =
        "the method is not an RFC 9110 token (letters, digits and !#$%&'*+-.^_`|~ only)";
    for (const char* bad : {"{\"k\":1}", "A\"B", "(x)", "a,b", "A/B", "A\tB", "\x7f", "\xc3\xa9"}) {
        request r = good_request();
        r.method = bad;
        BOOST_TEST_CONTEXT("method \"" << bad << "\"") {
            BOOST_TEST(!r.is_well_formed());
            BOOST_TEST(r.why_malformed() == why);
        }
    }
    request r = good_request();
    r.method = "M-SEARCH";
    BOOST_TEST(r.is_well_formed());
    r.method = "X!#$%&'*+-.^_`|~9";
    BOOST_TEST(r.is_well_formed());
    // The more specific reasons still win.
    r.method = "A B";
    BOOST_TEST(r.why_malformed() == "the method holds a space");
    r.method = "A\nB";
    BOOST_TEST(r.why_malformed() == "the method holds CR, LF or NUL");
}

BOOST_AUTO_TEST_CASE(add_header_keeps_order_and_repeats) {
    request r;
    r.add_header("A", "1").add_header("B", "2").add_header("A", "3");
    BOOST_REQUIRE(r.headers.size() == 3u);
    BOOST_TEST(r.headers[0].first == "A");
    BOOST_TEST(r.headers[0].second == "1");
    BOOST_TEST(r.headers[1].first == "B");
    BOOST_TEST(r.headers[2].first == "A");
    BOOST_TEST(r.headers[2].second == "3");
}

BOOST_AUTO_TEST_CASE(set_option_strings_are_copied) {
    request r;
    {
        std::string temp = "http://copied.test/a";
        r.set_option(CURLOPT_URL, temp);
        temp.assign(temp.size(), 'X'); // mutate, then destroy: the setter owns a copy
    }
    auto h = make_easy();
    BOOST_REQUIRE(r.options.curl_options.size() == 1u);
    BOOST_TEST(apply(r, h.get()) == std::vector<CURLcode>{CURLE_OK}, boost::test_tools::per_element());
    BOOST_TEST(effective_url(h.get()) == "http://copied.test/a");

    // A string_view that is not NUL-terminated: only its characters are passed.
    const char text[] = "http://view.test/abcTRAILING";
    request v;
    v.set_option(CURLOPT_URL, std::string_view(text, 20));
    auto h2 = make_easy();
    BOOST_TEST(apply(v, h2.get()) == std::vector<CURLcode>{CURLE_OK}, boost::test_tools::per_element());
    BOOST_TEST(effective_url(h2.get()) == "http://view.test/abc");

    // String literal (const char*), and later setters win: applied in order.
    request o;
    o.set_option(CURLOPT_URL, "http://first.test/").set_option(CURLOPT_URL, "http://second.test/");
    auto h3 = make_easy();
    BOOST_TEST(apply(o, h3.get()) == (std::vector<CURLcode>{CURLE_OK, CURLE_OK}),
               boost::test_tools::per_element());
    BOOST_TEST(effective_url(h3.get()) == "http://second.test/");
}

BOOST_AUTO_TEST_CASE(set_option_pointers_and_null) {
    int marker = 42;
    request r;
    r.set_option(CURLOPT_PRIVATE, static_cast<void*>(&marker));
    auto h = make_easy();
    BOOST_TEST(apply(r, h.get()) == std::vector<CURLcode>{CURLE_OK}, boost::test_tools::per_element());
    void* got = nullptr;
    BOOST_REQUIRE(curl_easy_getinfo(h.get(), CURLINFO_PRIVATE, &got) == CURLE_OK);
    BOOST_TEST(got == static_cast<void*>(&marker));

    // nullptr is a null pointer, not a string: it clears the option.
    request n;
    n.set_option(CURLOPT_URL, "http://x.test/").set_option(CURLOPT_URL, nullptr);
    auto h2 = make_easy();
    BOOST_TEST(apply(n, h2.get()) == (std::vector<CURLcode>{CURLE_OK, CURLE_OK}),
               boost::test_tools::per_element());
    BOOST_TEST(effective_url(h2.get()) == "");
}

BOOST_AUTO_TEST_CASE(set_option_integers_enums_and_off_t) {
    auto h = make_easy();
    request r;
    r.set_option(CURLOPT_MAXREDIRS, 5)                           // int → long
        .set_option(CURLOPT_VERBOSE, false)                      // bool → long
        .set_option(CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1) // enum → long
        .set_option(CURLOPT_MAXFILESIZE_LARGE, curl_off_t{1} << 40)
        .set_option(CURLOPT_TIMEOUT_MS, 1500L);
    BOOST_TEST(apply(r, h.get()) == std::vector<CURLcode>(5, CURLE_OK), boost::test_tools::per_element());

    // Values libcurl refuses come back as its error, for the fetch to fail with.
    request bad;
    bad.set_option(CURLOPT_MAXREDIRS, -5)
        .set_option(CURLOPT_MAXFILESIZE_LARGE, curl_off_t{-1})
        .set_option(CURLOPT_CONNECTTIMEOUT, -5L)
        .set_option(static_cast<CURLoption>(9999), 1L);
    const std::vector<CURLcode> expected{CURLE_BAD_FUNCTION_ARGUMENT, CURLE_BAD_FUNCTION_ARGUMENT,
                                         CURLE_BAD_FUNCTION_ARGUMENT, CURLE_UNKNOWN_OPTION};
    BOOST_TEST(apply(bad, h.get()) == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(request_copies_keep_setters) {
    request r;
    r.set_option(CURLOPT_URL, std::string("http://copy.test/"));
    const request copy = r; // async_fetch copies the request
    r.options.curl_options.clear();
    auto h = make_easy();
    BOOST_TEST(apply(copy, h.get()) == std::vector<CURLcode>{CURLE_OK}, boost::test_tools::per_element());
    BOOST_TEST(effective_url(h.get()) == "http://copy.test/");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(header_list_suite)

namespace {
header_list sample() {
    header_list h;
    h.add("Content-Type", "text/html");
    h.add("Set-Cookie", "a=1");
    h.add("x-empty", "");
    h.add("set-cookie", "b=2");
    h.add("SET-COOKIE", "c=3");
    h.add("X-Odd{", "brace");
    return h;
}
} // namespace

BOOST_AUTO_TEST_CASE(find_is_case_insensitive) {
    const header_list h = sample();
    for (std::string_view name : {"content-type", "CONTENT-TYPE", "Content-Type", "cOnTeNt-TyPe"}) {
        auto v = h.find(name);
        BOOST_REQUIRE(v.has_value());
        BOOST_TEST(*v == "text/html");
        BOOST_TEST(h.contains(name));
    }
    BOOST_TEST(*h.find("SET-cookie") == "a=1"); // first of the repeats
    // An empty value is found, and is empty.
    BOOST_REQUIRE(h.find("X-Empty").has_value());
    BOOST_TEST(h.find("X-Empty")->empty());
    BOOST_TEST(h.contains("X-EMPTY"));
}

BOOST_AUTO_TEST_CASE(find_matches_whole_names_only) {
    const header_list h = sample();
    for (std::string_view name : {"Content-Typ", "Content-Type ", "Content-Types", "", "Cookie",
                                  "X-Odd["}) { // '[' and '{' differ by 0x20 but are not letters
        BOOST_TEST_CONTEXT("name '" << name << "'") {
            BOOST_TEST(!h.find(name).has_value());
            BOOST_TEST(!h.contains(name));
            BOOST_TEST(h.find_all(name).empty());
        }
    }
    BOOST_TEST(*h.find("x-ODD{") == "brace");
    header_list empty;
    BOOST_TEST(!empty.find("Content-Type").has_value());
    BOOST_TEST(empty.find_all("Content-Type").empty());
}

BOOST_AUTO_TEST_CASE(find_all_keeps_order) {
    const header_list h = sample();
    const std::vector<std::string_view> expected{"a=1", "b=2", "c=3"};
    BOOST_TEST(h.find_all("set-cookie") == expected, boost::test_tools::per_element());
    BOOST_TEST(h.find_all("SET-COOKIE") == expected, boost::test_tools::per_element());
    BOOST_TEST(h.find_all("content-type") == std::vector<std::string_view>{"text/html"},
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(iteration_size_clear) {
    header_list h = sample();
    BOOST_TEST(h.size() == 6u);
    BOOST_TEST(!h.empty());
    std::vector<std::string> names;
    for (const auto& [name, value] : h)
        names.emplace_back(name);
    const std::vector<std::string> expected{"Content-Type", "Set-Cookie", "x-empty",
                                            "set-cookie",   "SET-COOKIE", "X-Odd{"};
    BOOST_TEST(names == expected, boost::test_tools::per_element()); // names kept as received
    h.clear();
    BOOST_TEST(h.empty());
    BOOST_TEST(h.size() == 0u);
    BOOST_TEST(!h.contains("Content-Type"));
}

BOOST_AUTO_TEST_CASE(extend_last_folds_into_last_field) {
    header_list h;
    h.extend_last("orphan"); // no field yet: nothing to extend
    BOOST_TEST(h.empty());

    h.add("X-Folded", "first");
    h.add("X-Other", "start");
    h.extend_last("continued");
    h.extend_last("again");
    BOOST_TEST(h.size() == 2u);
    BOOST_TEST(*h.find("x-other") == "start continued again");
    BOOST_TEST(*h.find("x-folded") == "first"); // only the last field changes
}

BOOST_AUTO_TEST_SUITE_END()
