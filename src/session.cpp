#include <curlasio/session.hpp>

#include "detail/session_rules.hpp"

#include <stdexcept>

namespace curlasio {
namespace {

std::string checked_base(std::string base_url) {
    if (!base_url.empty() && !detail::is_absolute_url(base_url))
        throw std::invalid_argument("curlasio::session: the base URL is not an absolute URL: " + base_url);
    return base_url;
}

} // namespace

session::session(engine& eng, std::string base_url)
    : engine_(&eng), base_url_(checked_base(std::move(base_url))) {
    options_.cookies = std::make_shared<cookie_jar>();
}

void session::set_base_url(std::string base_url) { base_url_ = checked_base(std::move(base_url)); }

std::string session::resolve(std::string_view target) const {
    return detail::resolve_target(base_url_, target);
}

request session::make_request(curlasio::method m, std::string_view target) const {
    request req(resolve(target), std::move(m));
    req.options = options_;
    return req;
}

void session::apply_defaults(request& req) const {
    req.url = resolve(req.url);
    detail::merge_default_headers(req.headers, headers_);
    if (!req.options.cookies)
        req.options.cookies = options_.cookies;
}

} // namespace curlasio
