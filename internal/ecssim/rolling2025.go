package ecssim

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// The November 2025 change to rolling deployments ("Amazon ECS improves
// Service Availability during Rolling deployments",
// https://aws.amazon.com/about-aws/whats-new/2025/11/amazon-ecs-service-availability-rolling-deployments):
// "ECS now replaces unhealthy or terminated tasks using the same service
// revision they belong to. Unhealthy tasks in your currently running
// version are replaced with healthy tasks from that same version,
// independent of the new version's status. Additionally, when Application
// Auto Scaling triggers during a rolling deployment, ECS applies
// scale-out to both service revisions", within maximumPercent and
// minimumHealthyPercent.
//
// Modelled here for the older (ACTIVE) deployments of a rolling service:
//   - a task of the running version (one that was healthy) that stops on
//     its own (a crash, a failed health check, StopTask) is replaced by a
//     task of the same deployment and revision, after the retry back-off;
//     a deployment whose rollout FAILED launches nothing, and tasks that
//     never became healthy are not replaced from their own revision;
//   - a desired-count increase during a deployment (UpdateService with
//     desiredCount and no new revision, as Application Auto Scaling sends
//     it) gives each older deployment its share, ⌈its desired count ×
//     increase ÷ the old desired count⌉ (the announcement does not say how
//     the increase is split: proportionally is our choice), started from
//     its revision; the PRIMARY's desired count is the new one.
//
// Such tasks (refills) are startedBy the older deployment, count in its
// counts, and are scaled in by the deployment like its other tasks.

// oldTaskStopped owes older deployment d a replacement for its task t
// that stopped on its own.
func (s *Sim) oldTaskStopped(t *task, d *deployment, now time.Time) {
	if d.rollout == types.DeploymentRolloutStateFailed || !t.healthyOnce || s.cdServiceOf(t.svc) != nil {
		return
	}
	if _, _, drain := s.stagedGate(t.svc); !drain {
		return // a staged source keeps its own scale until CLEAN_UP
	}
	d.owed++
	d.nextLaunch = now.Add(s.timings.RetryBackoff.D())
}

// scaleOutOld gives every older deployment its share of a desired-count
// increase to desired.
func (s *Sim) scaleOutOld(svc *service, desired int32, now time.Time) {
	from := svc.desired
	if desired <= from || from <= 0 || len(svc.deps) < 2 {
		return
	}
	for _, d := range svc.deps[1:] {
		if d.rollout == types.DeploymentRolloutStateFailed || d.desired <= 0 {
			continue
		}
		share := (d.desired*(desired-from) + from - 1) / from
		d.owed += share
		d.desired += share
		d.updatedAt = now
	}
}

// refillOld starts the tasks older deployments are owed, from their own
// revisions, within maximumPercent of the desired count counting every
// live task. It reports whether it started any.
func (s *Sim) refillOld(svc *service, now time.Time) bool {
	if len(svc.deps) < 2 {
		return false
	}
	maxTotal := max(svc.desired*svc.maxPercent/100, svc.desired)
	live, _ := liveAndHealthy(svc)
	changed := false
	for _, d := range svc.deps[1:] {
		if d.owed <= 0 || now.Before(d.nextLaunch) || d.rollout == types.DeploymentRolloutStateFailed {
			continue
		}
		room := min(int(maxTotal)-live, int(d.owed))
		if room <= 0 {
			continue
		}
		var started []*task
		for range room {
			t := s.newTask(svc, d, now)
			t.refill = true
			started = append(started, t)
		}
		d.owed -= int32(len(started))
		live += len(started)
		d.updatedAt = now
		svc.steady = false
		s.event(svc, now, fmt.Sprintf("(service %s) has started %d tasks: %s.", svc.name, len(started), taskList(started)))
		changed = true
	}
	return changed
}
