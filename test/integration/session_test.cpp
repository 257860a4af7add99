// curlasio::session and curlasio::cookie_jar against the in-process server:
// base URL resolution (what target the server saw), default headers and
// options, and cookies by libcurl's rules (what /echo says arrived as the
// Cookie header), jars kept apart also when easy handles are reused.

#include <curlasio/cookie_jar.hpp>
#include <curlasio/session.hpp>

#include <toolkit/toolkit.hpp>

#include <support/test_pki.hpp>
#include <support/test_server.hpp>

#include <boost/asio/deferred.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using namespace curlasio::test;
using namespace std::chrono_literals;

namespace {

struct fixture : engine_fixture {
    std::mutex targets_mutex;
    std::vector<std::string> targets; // what the server saw, in order

    fixture() {
        server.on_request([this](const std::string&, const std::string& target) {
            std::lock_guard<std::mutex> g(targets_mutex);
            targets.push_back(target);
        });
    }
    std::string last_target() {
        std::lock_guard<std::mutex> g(targets_mutex);
        return targets.empty() ? std::string() : targets.back();
    }

    outcome fetch(const session& s, request req) {
        outcome out;
        async_fetch(s, std::move(req), [&](error_code ec, response r) {
            out.ec = ec;
            out.res = std::move(r);
            ++out.calls;
        });
        BOOST_TEST_REQUIRE(run_until(io, [&] { return out.calls > 0; }));
        BOOST_TEST(out.calls == 1);
        return out;
    }
    outcome get(const session& s, std::string_view target) {
        return fetch(s, s.make_request(verb::get, target));
    }
};

// The Cookie header /echo saw, or "<none>".
std::string cookie_sent(const outcome& out) {
    BOOST_TEST(!out.ec, out.ec.message() << ": " << out.res.error_message);
    BOOST_TEST(out.res.status == 200);
    const auto all = out.res.headers.find_all("X-Echo-Cookie");
    BOOST_TEST(all.size() <= 1u); // libcurl sends one Cookie field
    return all.empty() ? "<none>" : std::string(all.front());
}

// /set-cookie's query for these Set-Cookie values.
std::string set_cookie_target(std::initializer_list<std::string_view> values) {
    std::string target = "/set-cookie?";
    for (std::string_view v : values) {
        if (target.back() != '?')
            target += '&';
        for (char c : v) {
            const bool plain =
                std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
            if (plain) {
                target += c;
            } else {
                char buf[4];
                std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
                target += buf;
            }
        }
    }
    return target;
}

// A Netscape cookie line for the test server's host.
std::string netscape(std::string_view name, std::string_view value, bool secure = false,
                     long long expires = 0, std::string_view path = "/",
                     std::string_view domain = "127.0.0.1") {
    std::ostringstream s;
    s << domain << "\tFALSE\t" << path << '\t' << (secure ? "TRUE" : "FALSE") << '\t' << expires << '\t'
      << name << '\t' << value;
    return s.str();
}

bool listed(const cookie_jar& jar, std::string_view name) {
    const auto all = jar.list();
    return std::any_of(all.begin(), all.end(), [&](const std::string& line) {
        std::vector<std::string> fields;
        std::istringstream in(line);
        for (std::string f; std::getline(in, f, '\t');)
            fields.push_back(f);
        return fields.size() == 7 && fields[5] == name; // the name is the sixth field
    });
}

struct temp_file {
    std::string path;
    explicit temp_file(std::string_view stem)
        : path("/tmp/curlasio_" + std::string(stem) + "_" + std::to_string(::getpid()) + ".txt") {}
    ~temp_file() { std::remove(path.c_str()); }
};

long long in_an_hour() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count() +
           3600;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(session_urls, fixture)

BOOST_AUTO_TEST_CASE(relative_targets_are_resolved_against_the_base) {
    session s(eng, server.url("/echo/base/"));
    BOOST_TEST(get(s, "child").res.status == 200);
    BOOST_TEST(last_target() == "/echo/base/child");
    BOOST_TEST(get(s, "../sibling?q=1&r=a%20b").res.status == 200);
    BOOST_TEST(last_target() == "/echo/sibling?q=1&r=a%20b");
    BOOST_TEST(get(s, "/echo?x=1").res.status == 200);
    BOOST_TEST(last_target() == "/echo?x=1");
    BOOST_TEST(get(s, "?page=2").res.status == 200);
    BOOST_TEST(last_target() == "/echo/base/?page=2");
    // Above the root: nowhere higher than "/" (libcurl removes what
    // Boost.URL 1.81 leaves of it).
    BOOST_TEST(get(s, "../../../../echo").res.status == 200);
    BOOST_TEST(last_target() == "/echo");
}

BOOST_AUTO_TEST_CASE(absolute_urls_are_untouched) {
    test_server other;
    session s(eng, server.url("/echo/"));
    auto out = get(s, other.url("/hello"));
    BOOST_TEST(!out.ec);
    BOOST_TEST(out.res.body == "hello world");
    BOOST_TEST(server.requests_seen() == 0u);
    BOOST_TEST(s.resolve("https://x.example/a/../b") == "https://x.example/a/../b");
}

BOOST_AUTO_TEST_CASE(a_plain_request_is_resolved_at_fetch) {
    session s(eng, server.url("/echo/"));
    auto out = fetch(s, request("deeper/x", verb::post));
    BOOST_TEST(!out.ec);
    BOOST_TEST(last_target() == "/echo/deeper/x");
    BOOST_TEST(out.res.headers.find("X-Method").value_or("") == "POST");
}

BOOST_AUTO_TEST_CASE(a_bad_base_is_refused_and_a_bad_target_fails_clearly) {
    BOOST_CHECK_THROW(session(eng, "/no/scheme/"), std::invalid_argument);
    session s(eng);
    BOOST_CHECK_THROW(s.set_base_url("127.0.0.1 /x"), std::invalid_argument);
    BOOST_TEST(s.base_url().empty());
    // No base: a relative target stays relative, and libcurl says why it
    // cannot fetch it.
    auto out = get(s, "/relative");
    BOOST_TEST(out.ec == make_error_code(CURLE_URL_MALFORMAT));
    BOOST_TEST(!out.res.error_message.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(session_defaults, fixture)

BOOST_AUTO_TEST_CASE(default_headers_are_sent_unless_overridden) {
    session s(eng, server.base_url());
    s.headers() = {{"Accept", "application/json"}, {"X-Default", "d"}};
    auto plain = get(s, "/echo");
    BOOST_TEST(plain.res.headers.find("X-Echo-Accept").value_or("") == "application/json");
    BOOST_TEST(plain.res.headers.find("X-Echo-X-Default").value_or("") == "d");

    auto req = s.make_request(verb::get, "/echo");
    req.add_header("accept", "text/plain"); // another case: still the same field
    auto own = fetch(s, std::move(req));
    const auto accepts = own.res.headers.find_all("X-Echo-Accept");
    BOOST_TEST_REQUIRE(accepts.size() == 1u);
    BOOST_TEST(accepts.front() == "text/plain");
    BOOST_TEST(own.res.headers.find("X-Echo-X-Default").value_or("") == "d");
}

BOOST_AUTO_TEST_CASE(default_options_apply_and_can_be_overridden) {
    session s(eng, server.base_url());
    s.options().timeout = 200ms;
    s.options().user_agent = "session-agent";
    const auto start = steady::now();
    auto late = get(s, "/delay/5000");
    BOOST_TEST(late.ec == make_error_code(CURLE_OPERATION_TIMEDOUT));
    BOOST_TEST(ms_between(start, steady::now()) < 4000);

    auto req = s.make_request(verb::get, "/delay/400");
    req.options.timeout = 0ms; // no limit, for this one
    auto in_time = fetch(s, std::move(req));
    BOOST_TEST(!in_time.ec);
    BOOST_TEST(in_time.res.body == "delayed");

    auto agent = get(s, "/echo");
    BOOST_TEST(agent.res.headers.find("X-Echo-User-Agent").value_or("") == "session-agent");
}

BOOST_AUTO_TEST_CASE(every_token_style_completes) {
    session s(eng, server.base_url());
    std::future<response> f = async_fetch(s, s.make_request(verb::get, "/hello"), asio::use_future);
    std::thread runner([&] { io.run(); });
    BOOST_TEST((f.wait_for(30s) == std::future_status::ready));
    runner.join();
    BOOST_TEST(f.get().body == "hello world");

    // Deferred: the defaults are read at the call, the fetch starts when
    // the deferred operation is launched.
    auto op = async_fetch(s, s.make_request(verb::get, "/hello"), asio::deferred);
    probe p;
    std::move(op)(probe_handler(p));
    BOOST_TEST_REQUIRE(run_until(io, [&] { return p.calls > 0; }));
    BOOST_TEST(!p.ec);
    BOOST_TEST(p.res.body == "hello world");
}

BOOST_AUTO_TEST_CASE(the_session_may_go_before_its_fetches) {
    probe p;
    {
        session s(eng, server.base_url());
        s.cookies()->add(netscape("kept", "alive"));
        async_fetch(s, s.make_request(verb::get, "/echo"), probe_handler(p));
    } // the session and its reference to the jar are gone; the fetch keeps the jar
    BOOST_TEST_REQUIRE(run_until(io, [&] { return p.calls > 0; }));
    BOOST_TEST(!p.ec);
    BOOST_TEST(p.res.headers.find("X-Echo-Cookie").value_or("") == "kept=alive");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(session_cookies, fixture)

BOOST_AUTO_TEST_CASE(cookies_set_by_the_server_are_sent_back) {
    session s(eng, server.base_url());
    BOOST_TEST(cookie_sent(get(s, "/echo")) == "<none>");
    BOOST_TEST(get(s, "/cookie").res.status == 200);
    const std::string sent = cookie_sent(get(s, "/echo"));
    BOOST_TEST(sent.find("a=1") != std::string::npos);
    BOOST_TEST(sent.find("b=2") != std::string::npos);
    BOOST_TEST(s.cookies()->list().size() == 2u);
}

BOOST_AUTO_TEST_CASE(two_sessions_never_share_cookies) {
    session first(eng, server.base_url());
    session second(eng, server.base_url());
    get(first, "/cookie");
    BOOST_TEST(cookie_sent(get(first, "/echo")) != "<none>");
    BOOST_TEST(cookie_sent(get(second, "/echo")) == "<none>");
    BOOST_TEST(second.cookies()->list().empty());
    // A session without cookies sends none and keeps none.
    session none(eng, server.base_url());
    none.set_cookies(nullptr);
    get(none, "/cookie");
    BOOST_TEST(cookie_sent(get(none, "/echo")) == "<none>");
}

// The pool's reuse rule: a handle that had a jar must not carry it (its
// share, which curl_easy_reset keeps) into the next transfer.
BOOST_AUTO_TEST_CASE(reused_handles_never_mix_jars) {
    auto jar_a = std::make_shared<cookie_jar>();
    auto jar_b = std::make_shared<cookie_jar>();
    BOOST_TEST(!jar_a->add(netscape("who", "a")));
    BOOST_TEST(!jar_b->add(netscape("who", "b")));
    for (int i = 0; i < 30; ++i) {
        request req(server.url("/echo"));
        std::string expected = "<none>";
        switch (i % 3) {
        case 0:
            req.options.cookies = jar_a;
            expected = "who=a";
            break;
        case 1:
            break;
        case 2:
            req.options.cookies = jar_b;
            expected = "who=b";
            break;
        }
        BOOST_TEST(cookie_sent(fetch_sync(io, eng, std::move(req))) == expected, "fetch " << i);
        // A cookie set with no jar goes nowhere, one set with a jar to it.
        request set(server.url(set_cookie_target({"who=" + std::to_string(i) + "; Path=/set-cookie"})));
        if (i % 3 == 0)
            set.options.cookies = jar_b;
        BOOST_TEST(!fetch_sync(io, eng, std::move(set)).ec);
    }
    // Plain fetches did reuse handles meanwhile: the same engine still works.
    expect_fetch_works();
    BOOST_TEST(jar_a->list().size() == 1u);
    BOOST_TEST(jar_b->list().size() == 2u); // who=b for /, who=<i> for /set-cookie
}

BOOST_AUTO_TEST_CASE(saved_then_loaded_into_a_new_jar_are_sent) {
    temp_file file("saved");
    {
        session s(eng, server.base_url());
        get(s, "/cookie");
        BOOST_TEST_REQUIRE(!s.cookies()->save(file.path));
    }
    std::ifstream in(file.path);
    std::string first_line;
    std::getline(in, first_line);
    BOOST_TEST(first_line == "# Netscape HTTP Cookie File");

    auto jar = std::make_shared<cookie_jar>();
    BOOST_TEST_REQUIRE(!jar->load(file.path));
    session s(eng, server.base_url());
    s.set_cookies(jar);
    const std::string sent = cookie_sent(get(s, "/echo"));
    BOOST_TEST(sent.find("a=1") != std::string::npos);
    BOOST_TEST(sent.find("b=2") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(netscape_file_round_trip) {
    temp_file file("round_trip");
    cookie_jar jar;
    const long long later = in_an_hour();
    const std::vector<std::string> lines{
        netscape("plain", "1"),
        netscape("secure", "2", true, later),
        netscape("pathed", "3", false, later, "/echo/in"),
        ".example.com\tTRUE\t/\tFALSE\t" + std::to_string(later) + "\twide\t4",
        "#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\thidden\t5",
    };
    for (const auto& l : lines)
        BOOST_TEST(!jar.add(l));
    BOOST_TEST_REQUIRE(!jar.save(file.path));
    cookie_jar loaded;
    BOOST_TEST_REQUIRE(!loaded.load(file.path));
    const auto got = loaded.list();
    const std::set<std::string> expected(lines.begin(), lines.end());
    BOOST_TEST((std::set<std::string>(got.begin(), got.end()) == expected));
    // Loading adds: the same file twice keeps one of each.
    BOOST_TEST(!loaded.load(file.path));
    BOOST_TEST(loaded.list().size() == lines.size());
}

BOOST_AUTO_TEST_CASE(jar_errors_are_reported) {
    cookie_jar jar;
    const error_code missing = jar.load("/nonexistent/curlasio/cookies.txt");
    BOOST_TEST(missing == make_error_code(boost::system::errc::no_such_file_or_directory));
    BOOST_TEST(jar.save("/nonexistent/curlasio/cookies.txt") ==
               make_error_code(boost::system::errc::no_such_file_or_directory));
    BOOST_TEST(jar.add("Set-Cookie: a=1\r\nSet-Cookie: b=2") == make_error_code(errc::invalid_request));
    BOOST_TEST(jar.list().empty());
}

BOOST_AUTO_TEST_CASE(clear_and_clear_session) {
    session s(eng, server.base_url());
    s.cookies()->add(netscape("session", "1"));
    s.cookies()->add(netscape("persistent", "2", false, in_an_hour()));
    s.cookies()->clear_session();
    BOOST_TEST(cookie_sent(get(s, "/echo")) == "persistent=2");
    s.cookies()->clear();
    BOOST_TEST(cookie_sent(get(s, "/echo")) == "<none>");
    BOOST_TEST(s.cookies()->list().empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(cookie_rules, fixture)

BOOST_AUTO_TEST_CASE(a_cookie_for_another_path_is_not_sent) {
    session s(eng, server.base_url());
    get(s, set_cookie_target({"in=1; Path=/echo/in"}));
    BOOST_TEST(cookie_sent(get(s, "/echo/in/deeper")) == "in=1");
    BOOST_TEST(cookie_sent(get(s, "/echo/in")) == "in=1");
    BOOST_TEST(cookie_sent(get(s, "/echo/inside")) == "<none>"); // a prefix, not a path
    BOOST_TEST(cookie_sent(get(s, "/echo/out")) == "<none>");
    BOOST_TEST(cookie_sent(get(s, "/echo")) == "<none>");
}

BOOST_AUTO_TEST_CASE(a_cookie_for_another_domain_is_neither_taken_nor_sent) {
    session s(eng, server.base_url());
    // The server may not set one for a domain it is not in.
    get(s, set_cookie_target({"foreign=1; Domain=other.example; Path=/", "mine=1; Path=/"}));
    BOOST_TEST(!listed(*s.cookies(), "foreign"));
    BOOST_TEST(listed(*s.cookies(), "mine"));
    // One added for another domain stays there.
    s.cookies()->add(".other.example\tTRUE\t/\tFALSE\t0\telsewhere\t1");
    s.cookies()->add(netscape("wrong_host", "1", false, 0, "/", "127.0.0.2"));
    BOOST_TEST(listed(*s.cookies(), "elsewhere"));
    BOOST_TEST(cookie_sent(get(s, "/echo")) == "mine=1");
}

BOOST_AUTO_TEST_CASE(a_secure_cookie_goes_over_https_only) {
    const pki keys = make_test_pki();
    server_options tls;
    tls.tls = true;
    tls.cert_file = keys.cert_file;
    tls.key_file = keys.key_file;
    test_server secure_server(tls);

    // libcurl counts http:// to 127.0.0.1 as a secure context (as browsers
    // do): Secure cookies go there too.
    {
        session local(eng, server.base_url());
        local.cookies()->add(netscape("s", "1", true));
        BOOST_TEST(cookie_sent(get(local, "/echo")) == "s=1");
    }

    // Any other name is not: both servers under "secure.test" (CURLOPT_RESOLVE).
    const std::string http_entry = "secure.test:" + std::to_string(server.port()) + ":127.0.0.1";
    const std::string https_entry = "secure.test:" + std::to_string(secure_server.port()) + ":127.0.0.1";
    curl_slist* resolve = curl_slist_append(nullptr, http_entry.c_str());
    resolve = curl_slist_append(resolve, https_entry.c_str());
    BOOST_TEST_REQUIRE(resolve);
    session s(eng);
    s.options().tls.ca_file = keys.ca_file;
    s.options().tls.verify_host = false; // the certificate names 127.0.0.1 and localhost
    s.options().curl_options.emplace_back(
        [resolve](CURL* h) { return curl_easy_setopt(h, CURLOPT_RESOLVE, resolve); });
    const std::string http_url = "http://secure.test:" + std::to_string(server.port());
    const std::string https_url = "https://secure.test:" + std::to_string(secure_server.port());

    s.cookies()->add(netscape("s", "1", true, 0, "/", "secure.test"));
    s.cookies()->add(netscape("p", "2", false, 0, "/", "secure.test"));
    BOOST_TEST(cookie_sent(get(s, http_url + "/echo")) == "p=2");
    const std::string over_tls = cookie_sent(get(s, https_url + "/echo"));
    BOOST_TEST(over_tls.find("s=1") != std::string::npos);
    BOOST_TEST(over_tls.find("p=2") != std::string::npos);

    // Over http the server cannot set one; over https it can, and it still
    // goes over https only.
    get(s, http_url + set_cookie_target({"plain_secure=1; Secure; Path=/"}));
    BOOST_TEST(!listed(*s.cookies(), "plain_secure"));
    get(s, https_url + set_cookie_target({"tls_secure=1; Secure; Path=/"}));
    BOOST_TEST(listed(*s.cookies(), "tls_secure"));
    BOOST_TEST(cookie_sent(get(s, http_url + "/echo")) == "p=2");
    BOOST_TEST(cookie_sent(get(s, https_url + "/echo")).find("tls_secure=1") != std::string::npos);
    curl_slist_free_all(resolve);
}

BOOST_AUTO_TEST_CASE(an_expired_cookie_is_dropped) {
    session s(eng, server.base_url());
    s.cookies()->add(netscape("old", "1", false, 1)); // 1970
    s.cookies()->add(netscape("fresh", "1", false, in_an_hour()));
    BOOST_TEST(cookie_sent(get(s, "/echo")) == "fresh=1");
    BOOST_TEST(!listed(*s.cookies(), "old")); // dropped when cookies were picked

    get(s, set_cookie_target({"gone=1; Path=/", "also_gone=1; Path=/"}));
    BOOST_TEST(listed(*s.cookies(), "gone"));
    BOOST_TEST(listed(*s.cookies(), "also_gone"));
    get(s, set_cookie_target(
               {"gone=x; Path=/; Max-Age=0", "also_gone=x; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"}));
    BOOST_TEST(!listed(*s.cookies(), "gone")); // Max-Age=0: at once
    BOOST_TEST(cookie_sent(get(s, "/echo")) == "fresh=1");
    BOOST_TEST(!listed(*s.cookies(), "also_gone"));

    // Nor is one saved.
    temp_file file("expired");
    cookie_jar jar;
    jar.add(netscape("fresh", "1", false, in_an_hour()));
    jar.add(netscape("stale", "1", false, 1000)); // the next add would drop it
    BOOST_TEST(listed(jar, "stale"));
    BOOST_TEST_REQUIRE(!jar.save(file.path));
    cookie_jar loaded;
    BOOST_TEST_REQUIRE(!loaded.load(file.path));
    BOOST_TEST(loaded.list().size() == 1u);
    BOOST_TEST(listed(loaded, "fresh"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(cookie_jar_threads, server_fixture)

// One jar used at once by two engines, each on its own thread, and by this
// thread: libcurl takes the jar's lock for every access, so nothing is lost
// and nothing races (the sanitizer builds check the latter).
BOOST_AUTO_TEST_CASE(one_jar_for_engines_on_two_threads) {
    auto jar = std::make_shared<cookie_jar>();
    constexpr int per_thread = 20;
    std::atomic<int> failures{0};
    auto client = [&](int id) {
        asio::io_context own_io;
        engine own(own_io);
        for (int i = 0; i < per_thread; ++i) {
            request req(
                server.url(set_cookie_target({"t" + std::to_string(id) + "_" + std::to_string(i) + "=1"})));
            req.options.cookies = jar;
            outcome out;
            async_fetch(own, std::move(req), [&](error_code ec, response r) {
                out.ec = ec;
                out.res = std::move(r);
                ++out.calls;
            });
            own_io.restart();
            own_io.run_for(20s);
            if (out.calls != 1 || out.ec || out.res.status != 200)
                ++failures;
        }
    };
    std::thread first(client, 1);
    std::thread second(client, 2);
    std::size_t seen = 0;
    for (int i = 0; i < 50; ++i) { // concurrent readers and writers of the jar
        seen = std::max(seen, jar->list().size());
        jar->add(netscape("main", std::to_string(i)));
    }
    first.join();
    second.join();
    BOOST_TEST(failures.load() == 0);
    BOOST_TEST(jar->list().size() == static_cast<std::size_t>(2 * per_thread + 1));
    BOOST_TEST(seen <= static_cast<std::size_t>(2 * per_thread + 1));
}

// What crashed libcurl 8.12 to 8.14 (memory access violation near 0: it
// walks the cookies a request sends after releasing the jar's lock; see
// src/cookie_lock_window.hpp): many cookies sent by every request of two
// engines on two threads, while this thread replaces them. Each request
// sends every cookie, each with one of the values it had.
BOOST_AUTO_TEST_CASE(many_cookies_sent_by_two_threads_while_a_third_replaces_them) {
    auto jar = std::make_shared<cookie_jar>();
    constexpr int cookies = 100;
    constexpr int per_thread = 150;
    for (int c = 0; c < cookies; ++c)
        jar->add(netscape("c" + std::to_string(c), "0"));
    std::atomic<int> failures{0};
    std::atomic<int> running{2};
    auto client = [&] {
        asio::io_context own_io;
        engine own(own_io);
        for (int i = 0; i < per_thread; ++i) {
            request req(server.url("/echo"));
            req.options.cookies = jar;
            outcome out;
            async_fetch(own, std::move(req), [&](error_code ec, response r) {
                out.ec = ec;
                out.res = std::move(r);
                ++out.calls;
            });
            own_io.restart();
            own_io.run_for(20s);
            const std::string sent(out.res.headers.find("X-Echo-Cookie").value_or(""));
            if (out.calls != 1 || out.ec || std::count(sent.begin(), sent.end(), '=') != cookies)
                ++failures;
        }
        --running;
    };
    std::thread first(client);
    std::thread second(client);
    for (int round = 1; running.load() > 0; ++round) {
        for (int c = 0; c < cookies; c += 7)
            jar->add(netscape("c" + std::to_string(c), std::to_string(round)));
        std::this_thread::yield();
    }
    first.join();
    second.join();
    BOOST_TEST(failures.load() == 0);
    BOOST_TEST(jar->list().size() == static_cast<std::size_t>(cookies));
}

BOOST_AUTO_TEST_SUITE_END()
