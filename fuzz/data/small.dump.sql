--
-- A small plain dump for the rules and plain_pipeline fuzz targets: the types the transforms
-- care about, a primary key, a unique constraint, a foreign key, awkward values.
--

SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;

CREATE TABLE public.customers (
    id integer NOT NULL,
    email text,
    first_name character varying(20),
    last_name text,
    phone text,
    birth date,
    seen timestamp with time zone,
    balance numeric(12,2),
    ip inet,
    mac macaddr,
    card text,
    iban text,
    url text,
    role text,
    notes text,
    ref uuid
);

CREATE TABLE public.orders (
    id bigint NOT NULL,
    customer_id integer,
    total integer,
    code text,
    "Note Text" text
);

COPY public.customers (id, email, first_name, last_name, phone, birth, seen, balance, ip, mac, card, iban, url, role, notes, ref) FROM stdin;
1	ann@example.com	Ann	Smith	+49 (0)30 1234-5678	1980-02-29	2024-01-31 12:34:56.789+01	1234.50	192.168.7.9/24	08:00:2b:01:02:03	4111 1111 1111 1111	DE89 3704 0044 0532 0130 00	https://conf.de/a/b.html?u=x#f	admin	tab\there\nnewline \\ back	a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11
2	\N	\N	\N	\N	\N	\N	\N	\N	\N	\N	\N	\N	\N	\N	\N
3		É	Ünïcödé	0030 12	infinity	-infinity	-0.01	2001:db8::1	08-00-2B-01-02-03	4	GB82WEST12345698765432	/rel/path	user	\\N	00000000-0000-0000-0000-000000000000
\.

COPY public.orders (id, customer_id, total, code, "Note Text") FROM stdin;
10	1	-2147483648	AB-1234-cd	x
11	3	2147483647	\N	\N
\.

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_email_key UNIQUE (email);

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES public.customers(id);
