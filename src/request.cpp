#include <curlasio/request.hpp>

#include <curlasio/detail/malformed.hpp>

#include "detail/query_encoding.hpp"

#include <algorithm>
#include <cctype>

namespace curlasio {
namespace {

bool clean(std::string_view s) noexcept {
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool iequal(std::string_view a, std::string_view b) noexcept {
    return std::ranges::equal(
        a, b, [](unsigned char x, unsigned char y) { return std::tolower(x) == std::tolower(y); });
}

bool clean_part(const mime_part& p) noexcept {
    if (!clean(p.name) || !clean(p.content_type) || !clean(p.filename) || !clean(p.file_path))
        return false;
    for (const auto& [name, value] : p.headers)
        if (name.empty() || name.find(':') != std::string::npos || !clean(name) || !clean(value))
            return false;
    return true;
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
    if (req.query_failed())
        return malformed::url_unparsable;
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
    if (!std::ranges::all_of(req.multipart, clean_part))
        return malformed::part_field_control;
    return malformed::none;
}

} // namespace detail

std::string_view request::why_malformed() const noexcept {
    return detail::malformed_text[static_cast<std::size_t>(detail::find_malformed(*this))];
}

request& request::set_header(std::string name, std::string value) {
    auto same = [&](const header& h) { return iequal(h.first, name); };
    auto first = std::ranges::find_if(headers, same);
    if (first == headers.end()) {
        headers.emplace_back(std::move(name), std::move(value));
        return *this;
    }
    first->second = std::move(value);
    headers.erase(std::remove_if(std::next(first), headers.end(), same), headers.end());
    return *this;
}

request& request::add_query(std::string_view name, std::string_view value) {
    std::string why;
    if (!detail::append_query(url, name, value, why))
        query_failed_ = true;
    return *this;
}

request& request::set_form(const std::vector<std::pair<std::string, std::string>>& fields) {
    body = detail::form_urlencode(fields);
    if (method == "GET")
        method = "POST";
    return set_header("Content-Type", "application/x-www-form-urlencoded");
}

request& request::add_part(mime_part part) {
    multipart.push_back(std::move(part));
    if (method == "GET")
        method = "POST";
    return *this;
}

bool request::is_well_formed() const noexcept {
    return detail::find_malformed(*this) == detail::malformed::none;
}

} // namespace curlasio
