#include <curlasio/request.hpp>

#include <curlasio/detail/malformed.hpp>

namespace curlasio {
namespace {

bool clean(std::string_view s) noexcept {
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

} // namespace

namespace detail {

malformed find_malformed(const request& req) noexcept {
    if (!clean(req.method))
        return malformed::method_control;
    if (req.method.empty())
        return malformed::method_empty;
    if (req.method.find(' ') != std::string::npos)
        return malformed::method_space;
    if (!is_token(req.method))
        return malformed::method_not_token;
    if (!clean(req.url))
        return malformed::url_control;
    if (!clean(req.options.user_agent))
        return malformed::user_agent_control;
    for (const auto& [name, value] : req.headers) {
        if (name.empty())
            return malformed::header_name_empty;
        if (!clean(name))
            return malformed::header_name_control;
        if (name.find(':') != std::string::npos)
            return malformed::header_name_colon;
        if (!clean(value))
            return malformed::header_value_control;
    }
    // libcurl puts a digest user name and a bearer token into the head as
    // they are, and stops at a NUL in any of them.
    const auto& auth = req.options.auth;
    const auto& proxy = req.options.proxy;
    for (const std::string* s :
         {&auth.username, &auth.password, &auth.bearer_token, &proxy.username, &proxy.password})
        if (!clean(*s))
            return malformed::credentials_control;
    return malformed::none;
}

} // namespace detail

std::string_view request::why_malformed() const noexcept {
    return detail::malformed_text[static_cast<std::size_t>(detail::find_malformed(*this))];
}

bool request::is_well_formed() const noexcept {
    return detail::find_malformed(*this) == detail::malformed::none;
}

} // namespace curlasio
