CREATE TABLE "idempotency_keys" (
	"principal" varchar(191) COLLATE "C" NOT NULL,
	"idem_key" varchar(191) COLLATE "C" NOT NULL,
	"method" varchar(191) COLLATE "C" NOT NULL,
	"request_hash" varchar(64) NOT NULL,
	"call_id" varchar(64) NOT NULL,
	"deadline_at" bigint NOT NULL,
	"expires_at" bigint NOT NULL,
	"answer_code" integer,
	"answer" text COLLATE "C",
	CONSTRAINT "idempotency_keys_principal_idem_key_pk" PRIMARY KEY("principal","idem_key")
);
--> statement-breakpoint
CREATE INDEX "idempotency_keys_expires_at" ON "idempotency_keys" USING btree ("expires_at");