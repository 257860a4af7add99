// Behaviour of plain fetches against the in-process Beast server.

#include <toolkit/toolkit.hpp>

#include <support/test_server.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/error.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using curlasio::test::fetch_sync;
using curlasio::test::pattern;

namespace {

using fixture = curlasio::test::engine_fixture;

engine_options admission_limit(std::size_t running, std::size_t queued = 0) {
    engine_options o;
    o.max_running_transfers = running;
    o.max_queued_transfers = queued;
    return o;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(fetch, fixture)

BOOST_AUTO_TEST_CASE(get_returns_status_headers_body_and_info) {
    auto out = fetch_sync(io, eng, request(server.url("/hello")));
    BOOST_TEST(!out.ec);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.reason == "OK");
    BOOST_TEST(out.res.body == "hello world");
    BOOST_TEST(out.res.headers.find("server").value_or("") == "curlasio-test");
    BOOST_TEST(out.res.headers.find("SERVER").value_or("") == "curlasio-test");
    BOOST_TEST(out.res.effective_url == server.url("/hello"));
    BOOST_TEST(out.res.version == 11);
    BOOST_TEST(out.res.remote_address == "127.0.0.1");
    BOOST_TEST(out.res.remote_port == server.port());
    BOOST_TEST(out.res.error_message.empty());
    BOOST_TEST(out.res.times.total.count() > 0);
    BOOST_TEST(out.res.times.connect <= out.res.times.first_byte);
    BOOST_TEST(out.res.times.first_byte <= out.res.times.total);
    BOOST_TEST(out.res.times.tls_handshake.count() == 0);
}

BOOST_AUTO_TEST_CASE(every_method_round_trips_its_body) {
    for (std::string method : {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"}) {
        BOOST_TEST_CONTEXT("method " << method) {
            request req(server.url("/echo"), curlasio::method(method));
            if (method != "GET")
                req.body = "payload of " + method;
            auto out = fetch_sync(io, eng, req);
            BOOST_TEST(!out.ec);
            BOOST_TEST(out.res.status == 200);
            BOOST_TEST(out.res.headers.find("X-Method").value_or("") == method);
            BOOST_TEST(out.res.body == req.body);
            BOOST_TEST(!out.res.headers.contains("X-Echo-Expect"));
        }
    }
    auto head = fetch_sync(io, eng, request(server.url("/bytes/100"), verb::head));
    BOOST_TEST(!head.ec);
    BOOST_TEST(head.res.status == 200);
    BOOST_TEST(head.res.body.empty());
    BOOST_TEST(head.res.headers.find("content-length").value_or("") == "100");
}

BOOST_AUTO_TEST_CASE(request_headers_keep_order_and_repeats) {
    request req(server.url("/echo"));
    req.add_header("X-One", "1").add_header("X-Repeat", "a").add_header("X-Repeat", "b");
    req.options.user_agent = "agent/9";
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(!out.ec);
    BOOST_TEST(out.res.headers.find("x-echo-x-one").value_or("") == "1");
    auto repeats = out.res.headers.find_all("X-Echo-X-Repeat");
    BOOST_TEST_REQUIRE(repeats.size() == 2u);
    BOOST_TEST(repeats[0] == "a");
    BOOST_TEST(repeats[1] == "b");
    BOOST_TEST(out.res.headers.find("X-Echo-User-Agent").value_or("") == "agent/9");
}

BOOST_AUTO_TEST_CASE(response_headers_keep_repeats) {
    auto out = fetch_sync(io, eng, request(server.url("/cookie")));
    BOOST_TEST(out.res.headers.find_all("set-cookie").size() == 2u);
    auto many = fetch_sync(io, eng, request(server.url("/headers/50")));
    BOOST_TEST(many.res.headers.find("X-Header-49").value_or("") == "value-49");
}

BOOST_AUTO_TEST_CASE(large_and_chunked_bodies_arrive_intact) {
    auto fixed = fetch_sync(io, eng, request(server.url("/bytes/3000000")));
    BOOST_TEST(!fixed.ec);
    BOOST_TEST(fixed.res.body.size() == 3000000u);
    BOOST_TEST((fixed.res.body == pattern(3000000)));
    auto chunked = fetch_sync(io, eng, request(server.url("/chunked/1000000")));
    BOOST_TEST(!chunked.ec);
    BOOST_TEST((chunked.res.body == pattern(1000000)));
    BOOST_TEST(chunked.res.bytes_received == 1000000u);
}

BOOST_AUTO_TEST_CASE(buffer_size_bounds_the_chunks_handed_to_on_body) {
    auto largest_chunk = [&](std::size_t buffer_size) {
        std::size_t largest = 0, total = 0;
        request req(server.url("/bytes/3000000"));
        req.options.connection.buffer_size = buffer_size;
        req.on_body = [&](std::string_view chunk) {
            largest = std::max(largest, chunk.size());
            total += chunk.size();
        };
        auto out = fetch_sync(io, eng, std::move(req));
        BOOST_TEST(!out.ec);
        BOOST_TEST(total == 3000000u);
        return largest;
    };
    BOOST_TEST(largest_chunk(1024) <= 1024u);
    BOOST_TEST(largest_chunk(0) > 1024u); // libcurl's own 16 KiB
}

BOOST_AUTO_TEST_CASE(gzip_is_decoded_unless_disabled) {
    std::string expected;
    for (int i = 0; i < 100; ++i)
        expected += "hello gzip world";
    auto out = fetch_sync(io, eng, request(server.url("/gzip")));
    BOOST_TEST(!out.ec);
    BOOST_TEST(out.res.body == expected);
    request raw(server.url("/gzip"));
    raw.options.decompress = false;
    auto raw_out = fetch_sync(io, eng, raw);
    BOOST_TEST(raw_out.res.body != expected);
    BOOST_TEST(raw_out.res.body.substr(0, 2) == "\x1f\x8b");
}

BOOST_AUTO_TEST_CASE(http_errors_are_responses_not_errors) {
    for (int code : {404, 418, 500, 503}) {
        auto out = fetch_sync(io, eng, request(server.url("/status/" + std::to_string(code))));
        BOOST_TEST(!out.ec);
        BOOST_TEST(out.res.status == code);
    }
}

BOOST_AUTO_TEST_CASE(redirects_are_followed_only_when_asked_and_bounded) {
    auto off = fetch_sync(io, eng, request(server.url("/redirect/2")));
    BOOST_TEST(!off.ec);
    BOOST_TEST(off.res.status == 302);
    BOOST_TEST(off.res.headers.find("location").value_or("") == "/redirect/1");

    request on(server.url("/redirect/3"));
    on.options.redirects.follow = true;
    auto followed = fetch_sync(io, eng, on);
    BOOST_TEST(!followed.ec);
    BOOST_TEST(followed.res.status == 200);
    BOOST_TEST(followed.res.body == "redirected");
    BOOST_TEST(followed.res.redirect_count == 3);
    BOOST_TEST(followed.res.effective_url == server.url("/redirect/0"));

    request loop(server.url("/redirect-loop"));
    loop.options.redirects.follow = true;
    loop.options.redirects.max = 5;
    auto looped = fetch_sync(io, eng, loop);
    BOOST_TEST(looped.ec == make_error_code(CURLE_TOO_MANY_REDIRECTS));
    BOOST_TEST(!looped.res.error_message.empty());

    request to_file(server.url("/redirect-to?url=file%3A%2F%2F%2Fetc%2Fpasswd"));
    to_file.options.redirects.follow = true;
    auto file = fetch_sync(io, eng, to_file);
    BOOST_TEST(file.ec == make_error_code(CURLE_UNSUPPORTED_PROTOCOL));
}

BOOST_AUTO_TEST_CASE(connection_refused_is_an_error_code) {
    auto out = fetch_sync(io, eng, request("http://127.0.0.1:1/"));
    BOOST_TEST(out.ec == make_error_code(CURLE_COULDNT_CONNECT));
    BOOST_TEST(out.ec.category().name() == std::string("curl.easy"));
    BOOST_TEST(out.res.status == 0);
    BOOST_TEST(out.res.error_message.find("127.0.0.1") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(unresolvable_name_is_an_error_code) {
    auto out = fetch_sync(io, eng, request("http://no-such-host.invalid/"));
    BOOST_TEST(out.ec == make_error_code(CURLE_COULDNT_RESOLVE_HOST));
}

BOOST_AUTO_TEST_CASE(non_http_scheme_is_refused) {
    auto out = fetch_sync(io, eng, request("file:///etc/passwd"));
    BOOST_TEST(out.ec == make_error_code(CURLE_UNSUPPORTED_PROTOCOL));
    BOOST_TEST(out.res.body.empty());
}

BOOST_AUTO_TEST_CASE(total_timeout_compares_equal_to_timed_out) {
    request req(server.url("/delay/5000"));
    req.options.timeout = std::chrono::milliseconds(200);
    auto start = std::chrono::steady_clock::now();
    auto out = fetch_sync(io, eng, req);
    auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(out.ec == make_error_code(CURLE_OPERATION_TIMEDOUT));
    BOOST_TEST((out.ec == boost::system::errc::timed_out));
    BOOST_TEST((took < std::chrono::seconds(4))); // far below the 5 s delay, not a speed check
}

BOOST_AUTO_TEST_CASE(low_speed_limit_stops_a_stalled_body) {
    request req(server.url("/stall"));
    req.options.limits.low_speed_limit = 100;
    req.options.limits.low_speed_time = std::chrono::seconds(1);
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST((out.ec == boost::system::errc::timed_out));
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(out.res.body.size() == 10u); // the partial body is reported
}

BOOST_AUTO_TEST_CASE(response_size_cap_applies_to_known_and_chunked_lengths) {
    for (std::string path : {"/bytes/100000", "/chunked/100000"}) {
        BOOST_TEST_CONTEXT(path) {
            request req(server.url(path));
            req.options.limits.max_response_size = 50000;
            auto out = fetch_sync(io, eng, req);
            BOOST_TEST(out.ec == make_error_code(errc::response_too_large));
            BOOST_TEST(out.res.body.size() <= 50000u);
        }
    }
    request fits(server.url("/chunked/1000"));
    fits.options.limits.max_response_size = 1000;
    BOOST_TEST(!fetch_sync(io, eng, fits).ec);
}

BOOST_AUTO_TEST_CASE(control_characters_are_refused_before_sending) {
    std::size_t before = server.requests_seen();
    std::vector<request> bad(4, request(server.url("/echo")));
    bad[0].add_header("X-Evil", "a\r\nInjected: yes");
    bad[1].options.user_agent = "ua\n";
    bad[2].url = server.url("/echo\r\nX: y");
    bad[3].add_header(std::string("X-Nul\0", 6), "v");
    for (auto& req : bad) {
        auto out = fetch_sync(io, eng, req);
        BOOST_TEST(out.ec == make_error_code(errc::invalid_request));
        BOOST_TEST(!out.res.error_message.empty());
    }
    BOOST_TEST(server.requests_seen() == before);
}

BOOST_AUTO_TEST_CASE(escape_hatch_sets_any_option) {
    request req(server.url("/echo"));
    req.set_option(CURLOPT_REFERER, "http://referrer.test/");
    auto out = fetch_sync(io, eng, req);
    BOOST_TEST(out.res.headers.find("X-Echo-Referer").value_or("") == "http://referrer.test/");

    request bad(server.url("/echo"));
    bad.set_option(CURLOPT_SSLVERSION, 999L);
    auto failed = fetch_sync(io, eng, bad);
    BOOST_TEST((failed.ec.category() == curl_easy_category()));
    BOOST_TEST(!!failed.ec);
}

BOOST_AUTO_TEST_CASE(thousand_concurrent_transfers_on_one_engine) {
    constexpr int n = 1000;
    const std::size_t fds_before = curlasio::test::open_fd_count();
    int ok = 0, calls = 0;
    for (int i = 0; i < n; ++i) {
        std::string path = "/bytes/" + std::to_string(100 + i);
        async_fetch(eng, request(server.url(path)), [&, i](error_code ec, response r) {
            ++calls;
            if (!ec && r.status == 200 && r.body.size() == static_cast<std::size_t>(100 + i))
                ++ok;
        });
    }
    io.run_for(std::chrono::seconds(120));
    BOOST_TEST(calls == n);
    BOOST_TEST(ok == n);
    // Connections stay cached for reuse; they are released with the engine.
    eng = engine(io);
    io.restart();
    io.run_for(std::chrono::seconds(5));
    BOOST_TEST(curlasio::test::eventually([&] { return curlasio::test::open_fd_count() <= fds_before; }));
}

BOOST_AUTO_TEST_CASE(connections_are_reused) {
    for (int i = 0; i < 5; ++i)
        BOOST_TEST(!fetch_sync(io, eng, request(server.url("/hello"))).ec);
    BOOST_TEST(server.connections_accepted() == 1u);
}

BOOST_AUTO_TEST_CASE(a_steady_load_of_64_in_flight_opens_64_connections) {
    // Each completion starts the next fetch; completions drained in one
    // batch must not shrink libcurl's connection cache under the 64 that
    // the next fetches reuse (libcurl's own default does: 4 per handle in
    // the multi at that moment).
    constexpr int in_flight = 64, total = 64 * 40;
    int started = 0, done = 0, failed = 0;
    std::function<void()> start_one = [&] {
        ++started;
        async_fetch(eng, request(server.url("/hello")), [&](error_code ec, response) {
            ++done;
            failed += ec ? 1 : 0;
            if (started < total)
                start_one();
        });
    };
    for (int i = 0; i < in_flight; ++i)
        start_one();
    BOOST_TEST_REQUIRE(curlasio::test::run_until(io, [&] { return done == total; }));
    BOOST_TEST(failed == 0);
    BOOST_TEST(server.connections_accepted() == std::size_t(in_flight));
}

// The engine reuses easy handles: nothing of one request may reach the next.
BOOST_AUTO_TEST_CASE(reused_handles_carry_nothing_over) {
    int consumed = 0;
    request first(server.url("/echo"), verb::put);
    first.body = "first body";
    first.add_header("X-First", "1");
    first.options.user_agent = "first-agent";
    first.options.timeout = std::chrono::milliseconds(100);
    first.options.limits.max_response_size = 5;
    first.on_body = [&](std::string_view) { ++consumed; };
    auto a = fetch_sync(io, eng, first);
    BOOST_TEST(a.ec == make_error_code(errc::response_too_large));

    auto b = fetch_sync(io, eng, request(server.url("/echo")));
    BOOST_TEST(!b.ec);
    BOOST_TEST(consumed == 0);
    BOOST_TEST(b.res.headers.find("X-Method").value_or("") == "GET");
    BOOST_TEST(b.res.headers.find("X-Body-Size").value_or("") == "0");
    BOOST_TEST(!b.res.headers.contains("X-Echo-X-First"));
    BOOST_TEST(b.res.headers.find("X-Echo-User-Agent").value_or("") == "curlasio/0.1");

    // A request that turned the cookie engine on through the escape hatch
    // leaves its cookies in its handle: that handle is not reused.
    for (int i = 0; i < 3; ++i) {
        request cookies(server.url("/cookie"));
        cookies.set_option(CURLOPT_COOKIEFILE, "");
        BOOST_TEST(!fetch_sync(io, eng, cookies).ec);
        auto next = fetch_sync(io, eng, request(server.url("/echo")));
        BOOST_TEST(!next.ec);
        BOOST_TEST(!next.res.headers.contains("X-Echo-Cookie"));
    }
}

BOOST_AUTO_TEST_SUITE_END()

// The admission limit: at most K transfers inside libcurl, the rest in the
// engine's queue.
BOOST_FIXTURE_TEST_SUITE(admission, curlasio::test::server_fixture)

BOOST_AUTO_TEST_CASE(at_most_the_limit_run_and_the_rest_wait_their_turn) {
    // 40 slow fetches at once: without the limit 40 connections open; with
    // it, 4 do, each reused by the fetches that waited.
    engine eng(io, admission_limit(4));
    std::vector<curlasio::test::probe> probes(40);
    for (auto& p : probes)
        async_fetch(eng, request(server.url("/delay/20")), curlasio::test::probe_handler(p));
    BOOST_TEST_REQUIRE(curlasio::test::run_until(
        io, [&] { return std::all_of(probes.begin(), probes.end(), [](auto& p) { return p.calls > 0; }); }));
    for (auto& p : probes) {
        BOOST_TEST(p.calls == 1);
        BOOST_TEST(!p.ec);
        BOOST_TEST(p.res.body == "delayed");
    }
    BOOST_TEST(server.connections_accepted() == 4u);
    BOOST_TEST(server.requests_seen() == 40u);
}

BOOST_AUTO_TEST_CASE(a_queued_fetch_cancelled_ends_at_once_and_is_never_sent) {
    engine eng(io, admission_limit(1));
    curlasio::test::probe running, queued, after;
    async_fetch(eng, request(server.url("/delay/300")), curlasio::test::probe_handler(running));
    asio::cancellation_signal signal;
    async_fetch(eng, request(server.url("/hello")),
                asio::bind_cancellation_slot(signal.slot(), curlasio::test::probe_handler(queued)));
    async_fetch(eng, request(server.url("/echo")), curlasio::test::probe_handler(after));
    io.poll(); // both are queued behind the first
    // total: "no side effects", which only a fetch nothing was sent for has.
    signal.emit(asio::cancellation_type::total);
    BOOST_TEST_REQUIRE(curlasio::test::run_until(io, [&] { return queued.calls > 0; }));
    BOOST_TEST(queued.ec == asio::error::operation_aborted);
    BOOST_TEST(running.calls == 0); // it ended at once, not when its turn came
    BOOST_TEST_REQUIRE(curlasio::test::run_until(io, [&] { return after.calls > 0; }));
    BOOST_TEST(!running.ec);
    BOOST_TEST(!after.ec);
    BOOST_TEST(queued.calls == 1);
    BOOST_TEST(server.requests_seen() == 2u); // /delay and /echo, never /hello
}

BOOST_AUTO_TEST_CASE(a_full_queue_refuses_with_queue_full) {
    engine eng(io, admission_limit(1, 1));
    curlasio::test::probe a, b, c;
    async_fetch(eng, request(server.url("/delay/50")), curlasio::test::probe_handler(a));
    async_fetch(eng, request(server.url("/hello")), curlasio::test::probe_handler(b));
    async_fetch(eng, request(server.url("/hello")), curlasio::test::probe_handler(c));
    BOOST_TEST_REQUIRE(curlasio::test::run_until(io, [&] { return a.calls && b.calls && c.calls; }));
    BOOST_TEST(c.ec == make_error_code(errc::queue_full));
    BOOST_TEST(c.res.error_message == "the engine's admission queue is full");
    BOOST_TEST((b.at > c.at)); // c was refused at once, b ran after a
    BOOST_TEST(!a.ec);
    BOOST_TEST(!b.ec);
    BOOST_TEST(server.requests_seen() == 2u);
}

BOOST_AUTO_TEST_CASE(a_fetch_refused_at_its_turn_hands_the_place_on) {
    engine eng(io, admission_limit(1));
    curlasio::test::probe first, refused, last;
    async_fetch(eng, request(server.url("/delay/20")), curlasio::test::probe_handler(first));
    request bad(server.url("/hello"));
    bad.add_header("X-Bad", "a\r\nInjected: 1");
    async_fetch(eng, bad, curlasio::test::probe_handler(refused));
    async_fetch(eng, request(server.url("/hello")), curlasio::test::probe_handler(last));
    BOOST_TEST_REQUIRE(curlasio::test::run_until(io, [&] { return last.calls > 0; }));
    BOOST_TEST(!first.ec);
    BOOST_TEST(refused.ec == make_error_code(errc::invalid_request));
    BOOST_TEST(!last.ec);
    BOOST_TEST(refused.calls == 1);
}

BOOST_AUTO_TEST_CASE(cancel_all_and_destruction_end_queued_fetches_once_each) {
    std::vector<curlasio::test::probe> probes(6);
    {
        engine eng(io, admission_limit(2));
        for (std::size_t i = 0; i < 3; ++i)
            async_fetch(eng, request(server.url("/delay/2000")), curlasio::test::probe_handler(probes[i]));
        io.poll();
        eng.cancel();
        BOOST_TEST_REQUIRE(curlasio::test::run_until(io, [&] { return probes[2].calls > 0; }));
        for (std::size_t i = 3; i < 6; ++i)
            async_fetch(eng, request(server.url("/delay/2000")), curlasio::test::probe_handler(probes[i]));
        io.poll();
    } // destroyed with two running and one queued
    BOOST_TEST_REQUIRE(curlasio::test::run_until(
        io, [&] { return std::all_of(probes.begin(), probes.end(), [](auto& p) { return p.calls > 0; }); }));
    for (auto& p : probes) {
        BOOST_TEST(p.calls == 1);
        BOOST_TEST(p.ec == asio::error::operation_aborted);
    }
    // The engine that replaces it works as before.
    engine next(io, admission_limit(2));
    expect_fetch_works(next);
}

BOOST_AUTO_TEST_SUITE_END()
