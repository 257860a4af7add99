#ifndef CURLASIO_METHOD_HPP
#define CURLASIO_METHOD_HPP

/// @file
/// curlasio::verb and curlasio::method: the HTTP method of a request.

// curlasio::method: what request's constructor takes as the HTTP method, so
// that `request(url, "{\"k\":1}")` (a body where the method goes) does not
// compile. A known verb converts implicitly; any other method is spelled
// out, `method("PURGE")`, and must be an RFC 9110 token.

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace curlasio {

/// The request methods of RFC 9110 section 9 (but CONNECT, which is a
/// proxy's business: see request_options::proxy) and PATCH (RFC 5789).
enum class verb { get, head, post, put, delete_, options, trace, patch };

/// The method's name as sent: "GET", "DELETE", ...
constexpr std::string_view to_string(verb v) noexcept {
    switch (v) {
    case verb::get:
        return "GET";
    case verb::head:
        return "HEAD";
    case verb::post:
        return "POST";
    case verb::put:
        return "PUT";
    case verb::delete_:
        return "DELETE";
    case verb::options:
        return "OPTIONS";
    case verb::trace:
        return "TRACE";
    case verb::patch:
        return "PATCH";
    }
    return "GET";
}

/// True when `s` is an RFC 9110 token (section 5.6.2: one or more of
/// letters, digits and ! # \$ \% \& ' * + - . ^ _ \` | ~), which is what a method must be.
constexpr bool is_token(std::string_view s) noexcept {
    if (s.empty())
        return false;
    for (char c : s) {
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
            return false;
    }
    return true;
}

/// An HTTP method: a verb (implicitly: `request(url, verb::post)`), or any
/// other RFC 9110 token given explicitly (`request(url, method("PROPFIND"))`).
/// Methods are case-sensitive and sent as given. A value type; thread
/// safety as for std::string.
class method {
public:
    /// A known verb; never throws but for memory.
    method(verb v) : name_(to_string(v)) {} // NOLINT: implicit on purpose

    /// A method by name. Throws std::invalid_argument unless
    /// is_token(name): a method holding a space, a control character,
    /// quotes or braces would be a body or an injection, not a method.
    explicit method(std::string_view name) : name_(name) {
        if (!is_token(name_))
            throw std::invalid_argument("curlasio::method: not an RFC 9110 token: \"" + name_ + "\"");
    }

    /// The name as sent.
    const std::string& str() const& noexcept { return name_; }
    /// The name, moved out.
    std::string str() && noexcept { return std::move(name_); }

    /// Same name (case-sensitive).
    friend bool operator==(const method&, const method&) = default;
    /// Whether `m` is the verb `v`.
    friend bool operator==(const method& m, verb v) noexcept { return m.name_ == to_string(v); }

private:
    std::string name_;
};

} // namespace curlasio

#endif
