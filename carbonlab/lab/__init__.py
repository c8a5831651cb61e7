"""The lab: a topology file turned into hosts (local, netns or ssh), provisioned by Ansible.

`topology` loads and validates the YAML; `ports` plans every service's address;
`providers` make hosts; `state` records what exists; `inventory` writes Ansible's
view; `lifecycle` moves a lab through absent -> hosts_up -> provisioned -> healthy.
"""
