// json_api: doc/requests.md's example. Query parameters
// encoded by Boost.URL, a JSON body, the JSON answer parsed; then a form
// and a multipart upload with a file streamed from disk.
//
//   json_api [BASE_URL]   default https://httpbin.org (any httpbin works,
//                         e.g. gunicorn httpbin:app on a local port)

#include <boost/json/serialize.hpp>

#include <iostream>
#include <string>

//[readme_building_requests
#include <curlasio/curlasio.hpp>
#include <curlasio/json.hpp> // target curlasio::json (Boost.JSON)

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace asio = boost::asio;
namespace json = boost::json;

asio::awaitable<void> call_api(curlasio::engine& eng, std::string base) {
    curlasio::request req(base + "/post");
    req.add_query("q", "rock & roll") // sent as ?q=rock%20%26%20roll&lang=c%2B%2B
        .add_query("lang", "c++");
    curlasio::set_json(req, {{"name", "curlasio"}, {"tags", {"asio", "curl"}}}); // POST, application/json

    auto [ec, res] = co_await curlasio::async_fetch(eng, req, asio::as_tuple(asio::use_awaitable));
    if (ec) {
        std::cout << "failed: " << res.error_message << '\n';
        co_return;
    }
    std::string why;
    auto v = curlasio::parse_json(res, &why); // boost::system::result<json::value>
    if (!v) {
        std::cout << "not JSON: " << why << '\n';
        co_return;
    }
    std::cout << res.status << " args: " << json::serialize(v->at("args")) << '\n';

    // A form (application/x-www-form-urlencoded, spaces as '+') and a
    // multipart body whose file part libcurl streams from disk.
    curlasio::request form(base + "/post");
    form.set_form({{"user", "ada lovelace"}, {"op", "1+1"}});
    curlasio::request upload(base + "/post");
    upload.add_part(curlasio::mime_part::text("title", "notes"))
        .add_part(curlasio::mime_part::file("file", "/etc/hostname", "text/plain"));
    for (curlasio::request* r : {&form, &upload}) {
        auto [ec2, res2] = co_await curlasio::async_fetch(eng, *r, asio::as_tuple(asio::use_awaitable));
        std::cout << (ec2 ? res2.error_message : std::to_string(res2.status) + " " + res2.body.substr(0, 60))
                  << '\n';
    }
}
//]

int main(int argc, char** argv) {
    asio::io_context io;
    curlasio::engine eng(io);
    asio::co_spawn(io, call_api(eng, argc > 1 ? argv[1] : "https://httpbin.org"), asio::detached);
    io.run();
}
