// The session's sans-io rules: a target resolved against the base URL
// (RFC 3986 section 5, through Boost.URL), and which default headers a
// request gets.

#include <detail/session_rules.hpp>

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using curlasio::request;
using curlasio::detail::is_absolute_url;
using curlasio::detail::merge_default_headers;
using curlasio::detail::resolve_target;

BOOST_AUTO_TEST_SUITE(session_rules)

BOOST_AUTO_TEST_CASE(relative_targets_resolve_against_the_base) {
    const std::string base = "http://h:8080/api/v1/";
    BOOST_TEST(resolve_target(base, "users") == "http://h:8080/api/v1/users");
    BOOST_TEST(resolve_target(base, "users/1?x=1&y=2") == "http://h:8080/api/v1/users/1?x=1&y=2");
    BOOST_TEST(resolve_target(base, "../v2/users") == "http://h:8080/api/v2/users");
    // RFC 3986 stops at the root ("http://h:8080/up"); Boost.URL 1.81 keeps
    // the ".." beyond it (boostorg/url#808), and libcurl removes it when it
    // sends the request (session_test checks what the server sees).
    const std::string above = resolve_target(base, "../../../up");
    BOOST_TEST((above == "http://h:8080/up" || above == "http://h:8080/../up"));
    BOOST_TEST(resolve_target(base, "/root?q=a%20b") == "http://h:8080/root?q=a%20b");
    BOOST_TEST(resolve_target(base, "?page=2") == "http://h:8080/api/v1/?page=2");
    BOOST_TEST(resolve_target(base, "") == base);
    BOOST_TEST(resolve_target(base, "//other:1/x") == "http://other:1/x"); // network-path reference
}

BOOST_AUTO_TEST_CASE(the_base_last_segment_is_replaced_without_a_slash) {
    BOOST_TEST(resolve_target("http://h/api/v1", "users") == "http://h/api/users");
    // The base's own query is dropped for a path, kept for an empty target.
    BOOST_TEST(resolve_target("http://h/a/b?k=v", "c") == "http://h/a/c");
    BOOST_TEST(resolve_target("http://h/a/b?k=v", "") == "http://h/a/b?k=v");
}

BOOST_AUTO_TEST_CASE(absolute_targets_and_no_base_are_untouched) {
    BOOST_TEST(resolve_target("http://h/api/", "https://other.example/x/../y?q") ==
               "https://other.example/x/../y?q");
    BOOST_TEST(resolve_target("", "users/../x") == "users/../x");
    // No URI reference at all (a space): left for libcurl to judge.
    BOOST_TEST(resolve_target("http://h/", "a b") == "a b");
}

BOOST_AUTO_TEST_CASE(base_urls_must_be_absolute) {
    BOOST_TEST(is_absolute_url("http://h/"));
    BOOST_TEST(is_absolute_url("https://127.0.0.1:443"));
    BOOST_TEST(!is_absolute_url("/api/"));
    BOOST_TEST(!is_absolute_url("h/api"));
    BOOST_TEST(!is_absolute_url("http://h/a b"));
}

BOOST_AUTO_TEST_CASE(defaults_added_only_for_missing_names) {
    std::vector<request::header> headers{{"accept", "mine"}, {"X-Own", "1"}};
    const std::vector<request::header> defaults{
        {"Accept", "application/json"}, {"X-Trace", "a"}, {"X-Trace", "b"}, {"ACCEPT", "text/plain"}};
    merge_default_headers(headers, defaults);
    const std::vector<request::header> expected{
        {"accept", "mine"}, {"X-Own", "1"}, {"X-Trace", "a"}, {"X-Trace", "b"}};
    BOOST_TEST((headers == expected));
}

BOOST_AUTO_TEST_CASE(no_own_headers_takes_every_default) {
    std::vector<request::header> headers;
    const std::vector<request::header> defaults{{"A", "1"}, {"a", "2"}};
    merge_default_headers(headers, defaults);
    BOOST_TEST((headers == defaults));
    merge_default_headers(headers, defaults); // applied twice: nothing more
    BOOST_TEST((headers == defaults));
}

BOOST_AUTO_TEST_SUITE_END()
