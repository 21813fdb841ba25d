#include "kubebench/token_review.hpp"

#include <nlohmann/json.hpp>

namespace ke::kubebench {

review_result parse_token_review(int http_status, std::string_view body) {
  review_result r;
  if (http_status < 200 || http_status >= 300) {
    r.result = review_result::outcome::error;
    r.error = "HTTP " + std::to_string(http_status) + ": " +
              kube::parse_status_body(body, http_status).message;
    return r;
  }
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object() || !doc.contains("status") || !doc["status"].is_object()) {
    r.result = review_result::outcome::error;
    r.error = "TokenReview response without status";
    return r;
  }
  const auto& st = doc["status"];
  const bool authenticated = st.value("authenticated", false);
  r.error = st.contains("error") && st["error"].is_string() ? st["error"].get<std::string>() : "";
  if (!authenticated) {
    r.result = review_result::outcome::rejected;
    return r;
  }
  r.result = review_result::outcome::authenticated;
  if (st.contains("user") && st["user"].is_object()) {
    const auto& user = st["user"];
    if (user.contains("username") && user["username"].is_string()) {
      r.username = user["username"].get<std::string>();
    }
    if (user.contains("extra") && user["extra"].is_object()) {
      const auto& extra = user["extra"];
      const auto it = extra.find("authentication.kubernetes.io/node-name");
      if (it != extra.end() && it->is_array() && !it->empty() && (*it)[0].is_string()) {
        r.node_name = (*it)[0].get<std::string>();
      }
    }
  }
  return r;
}

token_review_fn make_token_reviewer(kube::api_client& api, std::vector<std::string> audiences) {
  return
      [&api, audiences = std::move(audiences)](std::string token) -> net::awaitable<review_result> {
        nlohmann::json req = {{"apiVersion", "authentication.k8s.io/v1"},
                              {"kind", "TokenReview"},
                              {"spec", {{"token", std::move(token)}}}};
        if (!audiences.empty()) {
          req["spec"]["audiences"] = audiences;
        }
        auto res = co_await api.send(http::verb::post,
                                     "/apis/authentication.k8s.io/v1/tokenreviews", req.dump());
        if (res.error) {
          review_result r;
          r.error = res.describe();
          co_return r;
        }
        co_return parse_token_review(res.status, res.body);
      };
}

}  // namespace ke::kubebench
