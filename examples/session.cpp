// session: a session with a base URL, a default header and a cookie jar
// kept in a file between runs.
//
//   session BASE_URL [COOKIE_FILE]   GETs BASE_URL's "login" then "me"
//                                    (resolved against BASE_URL), sending
//                                    the cookies the first set; COOKIE_FILE
//                                    (default cookies.txt) is loaded first
//                                    when it exists and saved at the end.
//   session                          prints this usage and exits 0.

#include <curlasio/curlasio.hpp>

#include <iostream>
#include <string>

//[session
#include <curlasio/session.hpp> // target curlasio::session

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;

asio::awaitable<void> visit(curlasio::session& s, std::string cookie_file) {
    s.cookies()->load(cookie_file); // an error if missing: fine the first time
    for (const char* target : {"login", "me"}) {
        // Resolved against the base URL; a request of its own to edit at will.
        curlasio::request req = s.make_request(curlasio::verb::get, target);
        auto [ec, r] = co_await curlasio::async_fetch(s, std::move(req), asio::as_tuple(asio::use_awaitable));
        std::cout << target << ": " << (ec ? r.error_message : std::to_string(r.status)) << '\n';
    }
    if (auto ec = s.cookies()->save(cookie_file))
        std::cout << "cannot save " << cookie_file << ": " << ec.message() << '\n';
}

int run(const std::string& base_url, const std::string& cookie_file) {
    asio::io_context io;
    curlasio::engine eng(io);
    curlasio::session s(eng, base_url);                     // "https://api.example.com/v1/"
    s.headers().emplace_back("Accept", "application/json"); // unless a request has its own
    s.options().timeout = std::chrono::seconds(10);         // copied into every make_request
    s.options().retry = {.max_attempts = 3};                // 502/503/504, resets: twice more
    asio::co_spawn(io, visit(s, cookie_file), asio::detached);
    io.run();
    return 0;
}
//]

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cout << "usage: session BASE_URL [COOKIE_FILE]\n";
        return 0;
    }
    try {
        return run(argv[1], argc > 2 ? argv[2] : "cookies.txt");
    } catch (const std::exception& e) { // a base URL that is not absolute
        std::cerr << e.what() << '\n';
        return 1;
    }
}
