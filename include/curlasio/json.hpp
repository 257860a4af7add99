#ifndef CURLASIO_JSON_HPP
#define CURLASIO_JSON_HPP

/// @file
/// JSON bodies and answers through Boost.JSON: set_json, parse_json, json_errc
/// (CMake target curlasio::json; not in the umbrella header).

// JSON bodies through Boost.JSON (target curlasio::json; code that never
// includes this header needs neither Boost.JSON nor its library):
//
//   set_json(req, {{"name", "curlasio"}});       // body + Content-Type
//   auto v = parse_json(res);                   // boost::system::result<json::value>
//
// No I/O here: these are plain functions on the value types, thread-safe on
// distinct objects, usable with any fetch (callback, coroutine, future).

#include <curlasio/request.hpp>
#include <curlasio/response.hpp>

#include <boost/json/error.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <string>
#include <string_view>

namespace curlasio {

/// The JSON helpers' own condition (Boost.JSON's codes say what was wrong
/// with the text itself).
enum class json_errc {
    /// The response says its body is not JSON: its Content-Type is neither
    /// application/json nor a "+json" type (application/problem+json ...).
    not_json_content_type = 1,
};

namespace detail {
class json_category final : public boost::system::error_category {
public:
    constexpr json_category() noexcept : error_category(0x63757261736a736eull) {}
    const char* name() const noexcept override { return "curlasio.json"; }
    std::string message(int ev) const override {
        return ev == static_cast<int>(json_errc::not_json_content_type)
                   ? "the response's Content-Type is not JSON"
                   : "unknown curlasio.json error";
    }
};
inline constexpr json_category json_category_instance;
} // namespace detail

/// Category "curlasio.json": values are json_errc.
inline const boost::system::error_category& json_category() noexcept {
    return detail::json_category_instance;
}
/// The error_code for `e`, in json_category().
inline boost::system::error_code make_error_code(json_errc e) noexcept {
    return {static_cast<int>(e), json_category()};
}

} // namespace curlasio

/// @cond
template <>
struct boost::system::is_error_code_enum<curlasio::json_errc> : std::true_type {};
/// @endcond

namespace curlasio {

/// Sets `req`'s body to `v` serialized (compact, UTF-8) and its Content-Type
/// to application/json (replacing any); a GET becomes a POST, another method
/// (PUT, PATCH) is kept. Returns `req`.
inline request& set_json(request& req, const boost::json::value& v) {
    req.body = boost::json::serialize(v);
    if (req.method == "GET")
        req.method = "POST";
    return req.set_header("Content-Type", "application/json");
}

/// True for application/json and any "+json" media type (RFC 6839), with
/// or without parameters, compared without case.
inline bool is_json_content_type(std::string_view content_type) noexcept {
    std::string_view type = content_type.substr(0, content_type.find(';'));
    while (!type.empty() && (type.back() == ' ' || type.back() == '\t'))
        type.remove_suffix(1);
    while (!type.empty() && (type.front() == ' ' || type.front() == '\t'))
        type.remove_prefix(1);
    auto iends_with = [&](std::string_view suffix) {
        return type.size() >= suffix.size() &&
               std::equal(suffix.begin(), suffix.end(),
                          type.end() - static_cast<std::ptrdiff_t>(suffix.size()), [](char a, char b) {
                              return std::tolower(static_cast<unsigned char>(a)) ==
                                     std::tolower(static_cast<unsigned char>(b));
                          });
    };
    return (type.size() == 16 && iends_with("application/json")) || iends_with("+json");
}

/// Parses `text` as one JSON value (RFC 8259; Boost.JSON's default limits,
/// a nesting depth of 32). On bad JSON the error is Boost.JSON's code
/// (boost::json::error::syntax, incomplete, extra_data, ...), and
/// `*why`, when given, says where: "invalid JSON at byte 17 (line 2,
/// column 5): syntax error".
inline boost::system::result<boost::json::value> parse_json(std::string_view text,
                                                            std::string* why = nullptr) {
    boost::json::stream_parser p;
    boost::system::error_code ec;
    std::size_t consumed = p.write_some(text.data(), text.size(), ec);
    if (!ec && consumed < text.size())
        ec = boost::json::error::extra_data;
    if (!ec)
        p.finish(ec);
    if (ec) {
        if (why) {
            std::size_t line = 1, column = 1;
            for (char c : text.substr(0, consumed)) {
                if (c == '\n') {
                    ++line;
                    column = 1;
                } else {
                    ++column;
                }
            }
            *why = "invalid JSON at byte " + std::to_string(consumed) + " (line " + std::to_string(line) +
                   ", column " + std::to_string(column) + "): " + ec.message();
        }
        return ec;
    }
    return p.release();
}

/// Parses a response's body as JSON. A response whose Content-Type is there
/// and is not JSON (see is_json_content_type) is refused with
/// json_errc::not_json_content_type, `*why` naming the type, without
/// looking at the body: an HTML error page from a proxy is not mistaken for
/// data. A response without Content-Type is parsed. The status is not
/// looked at: check `res.status` first if a 4xx body means something else
/// to you. Otherwise as parse_json(std::string_view, why).
inline boost::system::result<boost::json::value> parse_json(const response& res, std::string* why = nullptr) {
    if (auto type = res.headers.find("Content-Type"); type && !is_json_content_type(*type)) {
        if (why)
            *why = "the response's Content-Type is not JSON: " + std::string(*type);
        return make_error_code(json_errc::not_json_content_type);
    }
    return parse_json(res.body, why);
}

} // namespace curlasio

#endif
