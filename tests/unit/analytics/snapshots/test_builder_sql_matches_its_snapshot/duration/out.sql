SELECT deployments.environment AS environment, median(epoch(deployments.finished_at) - epoch(deployments.commit_at)) AS lead 
FROM deployments GROUP BY deployments.environment
