"""Shadow rollout: `status: candidate` versions judged beside the enforced ones, never routing."""
