// Leader election with a coordination.k8s.io/v1 Lease, as client-go's leaderelection package
// does it (resmoio's leaderElection: one replica exports, the others wait):
//
// - try: GET the Lease; absent -> POST it with us as holder; held by someone else whose lease
//   has not expired -> not us; else PUT it (with its resourceVersion: a concurrent writer gets
//   409 Conflict) with us as holder and renewTime now (acquireTime and leaseTransitions+1 when
//   the holder changes).
// - Expiry is judged by local observation, not by the remote timestamps: a lease counts as
//   expired when its record (holder, renewTime, resourceVersion) has not changed for
//   leaseDurationSeconds of our own clock (tolerant to clock skew between replicas).
// - Campaign: try every retry_period (with jitter) until it succeeds, then on_started_leading.
// - Lead: renew every retry_period; when no renewal has succeeded for renew_deadline, leadership
//   is lost: on_stopped_leading, then campaign again.
// - stop(): ends run(); a leader first runs on_stopped_leading and then releases the lease
//   (holderIdentity "", leaseDurationSeconds 1) so another replica takes over at once. resmoio
//   does not release (a handover waits for the lease to expire, up to 17 s); this does, as
//   client-go's ReleaseOnCancel.
//
// Defaults as resmoio/client-go: lease 15 s, renew deadline 10 s, retry period 2 s. Times in the
// Lease are MicroTime ("2006-01-02T15:04:05.000000Z").
//
// No split brain: the elector's API client must bound every request (client_options(): one try,
// renew_deadline / 5 each), so one attempt (GET + PUT) ends within 2/5 of the renew deadline and
// a leader whose renewals fail stops leading by renew_deadline + 2 * that = 14 s after its last
// good renewal, before a standby may take over (lease_duration, 15 s, after it saw that renewal).
// With the API client's defaults a single hung request could last 60 s and 10 tries.
//
// Threading: one executor thread. The elector must outlive run(). It should have its own clock
// and API client (the event source cancels its own clock when it stops).
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "core/asio.hpp"
#include "core/clock.hpp"
#include "kube/api_client.hpp"

namespace ke::watch {

struct leader_election_options {
  std::string namespace_ = "default";              // the Lease's namespace
  std::string name = "kubernetes-event-exporter";  // config leaderElection.leaderElectionID
  std::string identity;                            // "" = <hostname>_<random hex>
  std::chrono::seconds lease_duration{15};
  std::chrono::seconds renew_deadline{10};
  std::chrono::seconds retry_period{2};
  std::function<double()> random;  // uniform [0,1) for jitter; empty = random
};

class leader_elector {
 public:
  using callback = std::function<net::awaitable<void>()>;

  // The options of the elector's own API client (see above).
  static kube::api_client::options client_options(const leader_election_options& o);

  leader_elector(kube::api_client& api, clock& c, leader_election_options opt, callback started,
                 callback stopped);

  // Campaigns and leads until stop(). Never throws.
  net::awaitable<void> run();
  // Ends run() soon. release=false skips releasing the lease (as if the process died).
  void stop(bool release = true);

  // For main: start() spawns run() on the clock's executor; shutdown() stops it and waits until
  // run() has finished (leadership handed back, lease released) or the deadline passed.
  void start();
  net::awaitable<void> shutdown(std::chrono::steady_clock::time_point deadline);
  bool running() const { return running_; }

  bool leading() const { return leading_; }
  const std::string& identity() const { return opt_.identity; }
  // Lease writes that failed (conflicts, API errors), for tests and logs.
  std::uint64_t failed_tries() const { return failed_tries_; }

 private:
  net::awaitable<void> run_and_signal();
  net::awaitable<bool> try_acquire_or_renew();
  net::awaitable<void> release();
  std::string lease_path() const;
  clock::duration jittered(std::chrono::seconds d);

  kube::api_client& api_;
  clock& clock_;
  leader_election_options opt_;
  callback started_;
  callback stopped_;
  std::function<double()> random_;
  bool leading_ = false;
  bool stopping_ = false;
  bool release_ = true;
  std::string observed_record_;  // holder|renewTime|resourceVersion last seen
  std::chrono::steady_clock::time_point observed_at_{};
  nlohmann::json lease_;  // the Lease as last read or written by us
  std::uint64_t failed_tries_ = 0;
  bool running_ = false;
  net::steady_timer done_;
};

// "<hostname>_<16 random hex digits>" (resmoio: hostname_<uuid>).
std::string default_identity();

}  // namespace ke::watch
