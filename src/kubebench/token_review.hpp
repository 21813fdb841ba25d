// A token_review_fn backed by the Kubernetes TokenReview API
// (POST /apis/authentication.k8s.io/v1/tokenreviews). The exporter's own identity needs
// `create` on tokenreviews (e.g. the system:auth-delegator ClusterRole).
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "kube/api_client.hpp"
#include "kubebench/ingest.hpp"

namespace ke::kubebench {

// api must outlive the returned function. audiences: spec.audiences ({} = the API server's).
token_review_fn make_token_reviewer(kube::api_client& api, std::vector<std::string> audiences = {});

// The review_result of a TokenReview response (HTTP status and body): status.authenticated,
// status.user.username, the node-name extra, status.error. Non-2xx is an error outcome.
review_result parse_token_review(int http_status, std::string_view body);

}  // namespace ke::kubebench
