#include "detail/query_encoding.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <boost/url/url.hpp>

namespace curlasio::detail {

std::string url_encode(std::string_view s, space_as spaces) {
    boost::urls::encoding_opts opts;
    opts.space_as_plus = spaces == space_as::plus;
    return boost::urls::encode(s, boost::urls::unreserved_chars, opts);
}

std::string form_urlencode(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        if (!out.empty())
            out += '&';
        out += url_encode(name, space_as::plus);
        out += '=';
        out += url_encode(value, space_as::plus);
    }
    return out;
}

bool append_query(std::string& url, std::string_view name, std::string_view value, std::string& why) {
    auto parsed = boost::urls::parse_uri_reference(url);
    if (!parsed) {
        why = parsed.error().message();
        return false;
    }
    boost::urls::url u(*parsed);
    const std::string n = url_encode(name, space_as::percent20);
    const std::string v = url_encode(value, space_as::percent20);
    // Boost.URL reads "?" as one empty parameter: replace it rather than
    // append to it, so that "p?" gives "p?a=b", not "p?&a=b".
    if (u.has_query() && u.encoded_query().empty())
        u.set_encoded_query(n + '=' + v);
    else
        u.encoded_params().append({n, v});
    url = std::string(u.buffer());
    return true;
}

} // namespace curlasio::detail
