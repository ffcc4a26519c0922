"""Plans: what each org may use (seats, premium features), declared by the deployment."""
