import os

from netmiko import ConnectHandler

cisco1 = {
    "device_type": "cisco_ios",
    "host": os.environ["DUT_HOST"],
    "port": int(os.environ["DUT_PORT"]),
    "username": os.environ["DUT_USER"],
    "password": os.environ["DUT_PASS"],
}

net_connect = ConnectHandler(**cisco1)
print(net_connect.find_prompt())
print(net_connect.is_alive())
net_connect.disconnect()
print(net_connect.is_alive())
