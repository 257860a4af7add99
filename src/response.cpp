#include <curlasio/response.hpp>

#include <algorithm>

namespace curlasio {
namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) {
                   return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
               };
               return lower(x) == lower(y);
           });
}

} // namespace

std::optional<std::string_view> header_list::find(std::string_view name) const noexcept {
    for (const auto& f : fields_)
        if (iequals(f.first, name))
            return std::string_view(f.second);
    return std::nullopt;
}

std::vector<std::string_view> header_list::find_all(std::string_view name) const {
    std::vector<std::string_view> out;
    for (const auto& f : fields_)
        if (iequals(f.first, name))
            out.emplace_back(f.second);
    return out;
}

} // namespace curlasio
