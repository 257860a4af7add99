#include <curlasio/request.hpp>

#include <algorithm>

namespace curlasio {
namespace {

bool clean(std::string_view s) noexcept {
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

} // namespace

bool request::is_well_formed() const noexcept {
    if (!clean(method) || !clean(url) || !clean(user_agent))
        return false;
    if (method.empty() || method.find(' ') != std::string::npos)
        return false;
    return std::all_of(headers.begin(), headers.end(), [](const header& h) {
        return !h.first.empty() && clean(h.first) && clean(h.second) &&
               h.first.find(':') == std::string::npos;
    });
}

} // namespace curlasio
