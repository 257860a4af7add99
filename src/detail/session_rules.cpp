#include "session_rules.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <cstddef>

namespace curlasio::detail {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
               return lower(x) == lower(y);
           });
}

} // namespace

bool is_absolute_url(std::string_view url) noexcept { return boost::urls::parse_uri(url).has_value(); }

std::string resolve_target(std::string_view base, std::string_view target) {
    if (base.empty())
        return std::string(target);
    const auto ref = boost::urls::parse_uri_reference(target);
    if (!ref || ref->has_scheme())
        return std::string(target);
    const auto base_url = boost::urls::parse_uri(base);
    if (!base_url)
        return std::string(target);
    boost::urls::url out;
    if (!boost::urls::resolve(*base_url, *ref, out))
        return std::string(target);
    return std::string(out.buffer());
}

void merge_default_headers(std::vector<request::header>& headers,
                           const std::vector<request::header>& defaults) {
    const std::size_t own = headers.size();
    for (const auto& d : defaults) {
        const auto first_own = headers.begin();
        const auto last_own = headers.begin() + static_cast<std::ptrdiff_t>(own);
        if (std::none_of(first_own, last_own,
                         [&](const request::header& h) { return iequals(h.first, d.first); }))
            headers.push_back(d);
    }
}

} // namespace curlasio::detail
