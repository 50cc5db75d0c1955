import os

from netmiko import ConnectHandler

cisco1 = {
    "device_type": "cisco_ios",
    "host": os.environ["DUT_HOST"],
    "port": int(os.environ["DUT_PORT"]),
    "username": os.environ["DUT_USER"],
    "password": os.environ["DUT_PASS"],
    "secret": os.environ["DUT_SECRET"],
}

command = "copy running-config startup-config"
with ConnectHandler(**cisco1) as net_connect:
    output = net_connect.send_command_timing(command, strip_prompt=False, strip_command=False)
    if "Destination filename" in output:
        output += net_connect.send_command_timing("\n", strip_prompt=False, strip_command=False)
    if "Overwrite" in output:
        output += net_connect.send_command_timing("y", strip_prompt=False, strip_command=False)

print(output)
