// Proxies that need more than tinyproxy: Debian's squid for proxy
// authentication (basic through its basic_ncsa_auth helper and a password
// file made here, digest through digest_file_auth), microsocks for SOCKS5
// (names resolved here and at the proxy, user/password authentication), and
// the no-proxy list. Each proxy is started for its case on a loopback port,
// in front of the in-process server. A missing program skips the case, and
// the case says so.

#include <toolkit/toolkit.hpp>
#include "peer_process.hpp"

#include <support/test_pki.hpp>
#include <support/test_server.hpp>

#include <boost/test/unit_test.hpp>

#include <crypt.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace asio = boost::asio;
using namespace curlasio;
using namespace curlasio::test;

namespace {

constexpr const char* squid_user = "squid-user";
constexpr const char* squid_password = "squid secret";
// Authenticated, and refused every destination (403).
constexpr const char* limited_user = "limited-user";
constexpr const char* limited_password = "limited secret";

// A directory squid can read after it drops root for its own user: mkdtemp
// makes it 0700, so it is opened up, and what squid writes is made first.
struct squid_dir {
    std::string path;
    squid_dir() {
        char tmpl[] = "/tmp/curlasio-squid-XXXXXX";
        if (!::mkdtemp(tmpl))
            throw std::runtime_error("mkdtemp failed");
        path = tmpl;
        ::chmod(path.c_str(), 0755);
        // basic_ncsa_auth reads crypt(3) hashes; MD5-crypt is one it knows.
        crypt_data data{};
        std::string passwd;
        for (const auto& [user, password] :
             {std::pair{squid_user, squid_password}, {limited_user, limited_password}}) {
            const char* hash = ::crypt_r(password, "$1$curlasio$", &data);
            if (!hash || hash[0] != '$')
                throw std::runtime_error("crypt_r failed");
            passwd += std::string(user) + ":" + hash + "\n";
        }
        write("basic.passwd", passwd);
        // digest_file_auth reads user:password in the clear.
        write("digest.passwd", std::string(squid_user) + ":" + squid_password + "\n");
        write("cache.log", "");
        ::chmod((path + "/cache.log").c_str(), 0666);
    }
    ~squid_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    squid_dir(const squid_dir&) = delete;
    squid_dir& operator=(const squid_dir&) = delete;

    void write(const std::string& name, const std::string& text) const {
        const std::string file = path + "/" + name;
        std::ofstream(file) << text;
        ::chmod(file.c_str(), 0644);
    }
};

// squid in the foreground (-N), no cache, every request authenticated.
peer_process squid(const squid_dir& dir) {
    return peer_process("/usr/sbin/squid", [&](unsigned short port) {
        const std::string& d = dir.path;
        dir.write("squid.conf", "http_port 127.0.0.1:" + std::to_string(port) +
                                    "\n"
                                    "pid_filename none\n"
                                    "cache_log " +
                                    d +
                                    "/cache.log\n"
                                    "access_log none\n"
                                    "cache deny all\n"
                                    "cache_mem 4 MB\n"
                                    "coredump_dir " +
                                    d +
                                    "\n"
                                    "netdb_filename none\n"
                                    "pinger_enable off\n"
                                    "shutdown_lifetime 0 seconds\n"
                                    // used only when started as root
                                    "cache_effective_user proxy\n"
                                    "auth_param basic program /usr/lib/squid/basic_ncsa_auth " +
                                    d +
                                    "/basic.passwd\n"
                                    "auth_param basic realm curlasio-test\n"
                                    "auth_param basic children 2 startup=1\n"
                                    "auth_param digest program /usr/lib/squid/digest_file_auth " +
                                    d +
                                    "/digest.passwd\n"
                                    "auth_param digest realm curlasio-test-digest\n"
                                    "auth_param digest children 2 startup=1\n"
                                    "acl authenticated proxy_auth REQUIRED\n"
                                    "acl limited proxy_auth " +
                                    limited_user +
                                    "\n"
                                    // all last: a 403, not a new challenge
                                    "http_access deny limited all\n"
                                    "http_access allow authenticated\n"
                                    "http_access deny all\n"
                                    "visible_hostname curlasio-test-squid\n");
        return std::vector<std::string>{"-N", "-f", d + "/squid.conf"};
    });
}

// microsocks, with user/password authentication when `user` is given.
peer_process microsocks(const std::string& user = {}, const std::string& password = {}) {
    return peer_process("/usr/bin/microsocks", [&](unsigned short port) {
        std::vector<std::string> args{"-i", "127.0.0.1", "-p", std::to_string(port)};
        if (!user.empty())
            args.insert(args.end(), {"-u", user, "-P", password});
        return args;
    });
}

struct fixture {
    pki certs = make_test_pki();
    test_server plain;
    test_server tls{server_options{true, certs.cert_file, certs.key_file}};
    asio::io_context io;
    engine eng{io};

    outcome fetch(request req) {
        req.options.timeout = std::chrono::seconds(20);
        return fetch_sync(io, eng, std::move(req));
    }
    static std::string url_of(const char* scheme, const peer_process& proxy) {
        return std::string(scheme) + "://127.0.0.1:" + std::to_string(proxy.port());
    }
    static std::string echoed(const outcome& out, const std::string& name) {
        return std::string(out.res.headers.find("X-Echo-" + name).value_or("<none>"));
    }
};

// Evaluates its argument once (it may be a fetch).
#define REQUIRE_OK(outcome_expr)                                                                             \
    do {                                                                                                     \
        const auto& required_ = (outcome_expr);                                                              \
        BOOST_TEST_REQUIRE(!required_.ec, required_.ec.message() << ": " << required_.res.error_message);    \
    } while (false)

#define REQUIRE_SQUID(proxy)                                                                                 \
    squid_dir proxy##_dir;                                                                                   \
    peer_process proxy = squid(proxy##_dir);                                                                 \
    CURLASIO_REQUIRE_PEER(proxy, "squid")

} // namespace

BOOST_FIXTURE_TEST_SUITE(proxy_peers, fixture)

BOOST_AUTO_TEST_CASE(squid_wants_basic_proxy_authentication) {
    REQUIRE_SQUID(proxy);
    // Without credentials, the proxy's 407 is the response (not an error).
    request anonymous(plain.url("/echo"));
    anonymous.options.proxy = url_of("http", proxy);
    auto refused = fetch(anonymous);
    REQUIRE_OK(refused);
    BOOST_TEST(refused.res.status == 407);
    BOOST_TEST(refused.res.headers.contains("Proxy-Authenticate"));

    request wrong = anonymous;
    wrong.options.proxy.username = squid_user;
    wrong.options.proxy.password = "not it";
    BOOST_TEST(fetch(wrong).res.status == 407);
    BOOST_TEST(plain.requests_seen() == 0u);

    request authed = anonymous;
    authed.options.proxy = {.url = url_of("http", proxy), .username = squid_user, .password = squid_password};
    auto out = fetch(authed);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.status == 200);
    BOOST_TEST(echoed(out, "Via").find("curlasio-test-squid") != std::string::npos, echoed(out, "Via"));
    // The proxy's credentials are the proxy's: the origin never sees them.
    BOOST_TEST(echoed(out, "Proxy-Authorization") == "<none>");
    BOOST_TEST(out.res.remote_port == proxy.port());
}

BOOST_AUTO_TEST_CASE(squid_takes_digest_and_negotiated_schemes) {
    REQUIRE_SQUID(proxy);
    for (proxy_auth_scheme scheme : {proxy_auth_scheme::digest, proxy_auth_scheme::any}) {
        BOOST_TEST_CONTEXT("scheme " << static_cast<int>(scheme)) {
            request req(plain.url("/echo"));
            req.options.proxy = {.url = url_of("http", proxy),
                                 .username = squid_user,
                                 .password = squid_password,
                                 .auth = scheme};
            auto out = fetch(req);
            REQUIRE_OK(out);
            BOOST_TEST(out.res.status == 200);
            BOOST_TEST(echoed(out, "Via").find("curlasio-test-squid") != std::string::npos);
        }
    }
    // Digest with a wrong password is refused like basic.
    request wrong(plain.url("/echo"));
    wrong.options.proxy = {.url = url_of("http", proxy),
                           .username = squid_user,
                           .password = "not it",
                           .auth = proxy_auth_scheme::digest};
    BOOST_TEST(fetch(wrong).res.status == 407);
}

BOOST_AUTO_TEST_CASE(squid_tunnels_https_and_http_for_authenticated_clients) {
    REQUIRE_SQUID(proxy);
    request req(tls.url("/hello"));
    req.options.tls.ca_file = certs.ca_file;
    req.options.proxy = {.url = url_of("http", proxy), .username = squid_user, .password = squid_password};
    auto out = fetch(req);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.body == "hello world");
    BOOST_TEST(out.res.connect_status == 200);

    // Without credentials CONNECT is answered 407: an error, the origin unreached.
    request anonymous = req;
    anonymous.options.proxy.username.clear();
    auto refused = fetch(anonymous);
    BOOST_TEST(refused.ec == make_error_code(CURLE_RECV_ERROR), refused.ec.message());
    BOOST_TEST(refused.res.connect_status == 407);
    BOOST_TEST(refused.res.status == 0);
    BOOST_TEST(tls.requests_seen() == 1u);

    // With tunnel, http:// goes through CONNECT too: the proxy forwards bytes
    // and adds no Via.
    request tunnelled(plain.url("/echo"));
    tunnelled.options.proxy = {
        .url = url_of("http", proxy), .username = squid_user, .password = squid_password, .tunnel = true};
    auto through = fetch(tunnelled);
    REQUIRE_OK(through);
    BOOST_TEST(through.res.status == 200);
    BOOST_TEST(through.res.connect_status == 200);
    BOOST_TEST(echoed(through, "Via") == "<none>");
}

// A tunnel is authenticated once, by its CONNECT; libcurl (7.88.1 and
// 8.14.1 alike) matches a proxied connection by the proxy's type, host and
// port, never its credentials, and so would hand the tunnel one user opened
// to the next request to the same origin, whoever that is (8.14.1 did in
// squid_tunnels_https_and_http_for_authenticated_clients). Each identity,
// none included, gets what the proxy gives it, in any order.
BOOST_AUTO_TEST_CASE(a_tunnel_serves_only_the_credentials_that_opened_it) {
    REQUIRE_SQUID(proxy);
    struct step {
        const char* user;
        const char* password;
        long connect_status;
    };
    const step steps[] = {{squid_user, squid_password, 200},     {"", "", 407},
                          {limited_user, limited_password, 403}, {squid_user, squid_password, 200},
                          {limited_user, limited_password, 403}, {squid_user, "not it", 407},
                          {squid_user, squid_password, 200}};
    for (const bool https : {true, false}) {
        std::size_t reached = 0;
        const std::size_t seen_before = (https ? tls : plain).requests_seen();
        for (std::size_t i = 0; i < std::size(steps); ++i) {
            const step& s = steps[i];
            BOOST_TEST_CONTEXT((https ? "https" : "http tunnel")
                               << ", step " << i << ", user '" << s.user << "'") {
                request req(https ? tls.url("/hello") : plain.url("/hello"));
                req.options.tls.ca_file = certs.ca_file;
                req.options.proxy = {
                    .url = url_of("http", proxy), .username = s.user, .password = s.password, .tunnel = true};
                auto out = fetch(req);
                BOOST_TEST(out.res.connect_status == s.connect_status);
                if (s.connect_status == 200) {
                    ++reached;
                    BOOST_TEST(!out.ec, out.ec.message());
                    BOOST_TEST(out.res.body == "hello world");
                } else {
                    BOOST_TEST(out.ec == make_error_code(CURLE_RECV_ERROR), out.ec.message());
                    BOOST_TEST(out.res.status == 0);
                }
                BOOST_TEST((https ? tls : plain).requests_seen() - seen_before == reached);
            }
        }
    }
}

// Without a tunnel, each request carries its own Proxy-Authorization and
// the proxy judges each: connections to it stay reusable for everyone (libcurl
// 8 reuses one for all; 7.88 keeps one per set of proxy credentials).
BOOST_AUTO_TEST_CASE(a_plain_proxy_judges_each_request_on_a_reused_connection) {
    REQUIRE_SQUID(proxy);
    struct step {
        const char* user;
        const char* password;
        long status;
    };
    const step steps[] = {{squid_user, squid_password, 200},
                          {"", "", 407},
                          {limited_user, limited_password, 403},
                          {squid_user, squid_password, 200}};
    const bool libcurl_8 = curl_version_info(CURLVERSION_NOW)->version_num >= 0x080000;
    std::set<std::string> identities;
    std::size_t reached = 0;
    for (std::size_t i = 0; i < std::size(steps); ++i) {
        const step& s = steps[i];
        BOOST_TEST_CONTEXT("step " << i << ", user '" << s.user << "'") {
            request req(plain.url("/echo"));
            req.options.proxy = {.url = url_of("http", proxy), .username = s.user, .password = s.password};
            auto out = fetch(req);
            REQUIRE_OK(out);
            BOOST_TEST(out.res.status == s.status);
            reached += s.status == 200;
            BOOST_TEST(plain.requests_seen() == reached);
            // libcurl 8: one connection to the proxy serves them all. 7.88
            // keeps one per set of proxy credentials (none included).
            identities.insert(std::string(s.user) + ":" + s.password);
            BOOST_TEST(connections_to(proxy.port()) == (libcurl_8 ? 1u : identities.size()));
        }
    }
}

BOOST_AUTO_TEST_CASE(socks5h_resolves_names_at_the_proxy) {
    peer_process proxy = microsocks();
    CURLASIO_REQUIRE_PEER(proxy, "microsocks");
    const std::string by_name = "http://localhost:" + std::to_string(plain.port()) + "/hello";
    // libcurl resolves "localhost" itself, never asking the system: to
    // 127.0.0.1 then ::1 in 7.88, to ::1 first in 8 (curl #11466; checked on
    // 7.88.1 and 8.14.1). With socks5 it hands the proxy only the first
    // address, and the server listens on 127.0.0.1 alone: in 8 the proxy
    // is refused ("(5)"). With socks5h the proxy resolves the name, trying
    // each address, in both.
    const bool libcurl_8 = curl_version_info(CURLVERSION_NOW)->version_num >= 0x080000;
    const bool localhost_is_ipv6_first = libcurl_8;
    for (const char* scheme : {"socks5", "socks5h"}) {
        BOOST_TEST_CONTEXT(scheme) {
            request req(by_name);
            req.options.proxy = url_of(scheme, proxy);
            auto out = fetch(req);
            if (scheme == std::string_view("socks5") && localhost_is_ipv6_first) {
                BOOST_TEST(out.ec == make_error_code(CURLE_PROXY), out.ec.message());
                BOOST_TEST(out.res.error_message.find("SOCKS5 connection to localhost. (5)") !=
                               std::string::npos,
                           out.res.error_message);
                // Named in IPv4 terms, it is reached.
                req.url = "http://127.0.0.1:" + std::to_string(plain.port()) + "/hello";
                out = fetch(req);
            }
            REQUIRE_OK(out);
            BOOST_TEST(out.res.body == "hello world");
            BOOST_TEST(out.res.remote_port == proxy.port());
        }
    }
    // A name nobody resolves shows who tried: here (socks5), or the proxy
    // (socks5h). Both are CURLE_PROXY (97) in libcurl 7.88 and 8; the text
    // differs. (8.14.1 says "Could not resolve proxy: <the proxy's
    // address>" for the destination it failed to resolve here.)
    request local(std::string("http://no-such-host.invalid/"));
    local.options.proxy = url_of("socks5", proxy);
    auto here = fetch(local);
    BOOST_TEST(here.ec == make_error_code(CURLE_PROXY), here.ec.message());
    BOOST_TEST(here.res.error_message.find(libcurl_8 ? "Could not resolve proxy"
                                                     : "Could not resolve host") != std::string::npos,
               here.res.error_message);
    request remote(std::string("http://no-such-host.invalid/"));
    remote.options.proxy = url_of("socks5h", proxy);
    auto at_proxy = fetch(remote);
    BOOST_TEST(at_proxy.ec == make_error_code(CURLE_PROXY), at_proxy.ec.message());
    // "Can't complete SOCKS5 connection to no-such-host.invalid. (1)": the
    // proxy got the name and could not resolve it.
    BOOST_TEST(at_proxy.res.error_message.find("SOCKS5 connection to no-such-host.invalid") !=
                   std::string::npos,
               at_proxy.res.error_message);

    // TLS through it is verified end to end.
    request secure("https://localhost:" + std::to_string(tls.port()) + "/hello");
    secure.options.proxy = url_of("socks5h", proxy);
    secure.options.tls.ca_file = certs.ca_file;
    auto out = fetch(secure);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.body == "hello world");
}

BOOST_AUTO_TEST_CASE(socks5_user_and_password) {
    peer_process proxy = microsocks("socks-user", "socks secret");
    CURLASIO_REQUIRE_PEER(proxy, "microsocks");
    request req(plain.url("/hello"));
    req.options.proxy = {
        .url = url_of("socks5h", proxy), .username = "socks-user", .password = "socks secret"};
    auto out = fetch(req);
    REQUIRE_OK(out);
    BOOST_TEST(out.res.body == "hello world");

    request anonymous(plain.url("/hello"));
    anonymous.options.proxy = url_of("socks5h", proxy);
    auto refused = fetch(anonymous);
    BOOST_TEST(refused.ec, "no credentials accepted");
    BOOST_TEST_MESSAGE("SOCKS5 without credentials: " << refused.ec.message() << ": "
                                                      << refused.res.error_message);

    request wrong = req;
    wrong.options.proxy.password = "not it";
    BOOST_TEST(fetch(wrong).ec, "a wrong password accepted");
    BOOST_TEST(plain.requests_seen() == 1u);
}

BOOST_AUTO_TEST_CASE(the_no_proxy_list_goes_direct) {
    peer_process proxy = tinyproxy(certs.dir);
    CURLASIO_REQUIRE_PEER(proxy, "tinyproxy");
    auto through = [&](const std::string& no_proxy) {
        request req(plain.url("/echo"));
        req.options.proxy = {.url = url_of("http", proxy), .no_proxy = no_proxy};
        auto out = fetch(req);
        BOOST_TEST_REQUIRE(!out.ec, out.ec.message());
        return out.res.remote_port == proxy.port() &&
               echoed(out, "Via").find("curlasio-test-proxy") != std::string::npos;
    };
    BOOST_TEST(through(""));
    BOOST_TEST(through("example.org,10.0.0.0/8"));
    BOOST_TEST(!through("127.0.0.1"));
    BOOST_TEST(!through("example.org, 127.0.0.0/8"));
    BOOST_TEST(!through("*"));
}

BOOST_AUTO_TEST_SUITE_END()
