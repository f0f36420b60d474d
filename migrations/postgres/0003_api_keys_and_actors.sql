CREATE TABLE "api_keys" (
	"id" varchar(191) COLLATE "C" PRIMARY KEY NOT NULL,
	"name" varchar(191) COLLATE "C" NOT NULL,
	"scopes" text COLLATE "C" NOT NULL,
	"hash" varchar(128) NOT NULL,
	"salt" varchar(64) NOT NULL,
	"created_at" bigint NOT NULL,
	"created_by" varchar(191) COLLATE "C" NOT NULL,
	"expires_at" bigint,
	"revoked_at" bigint,
	"revoked_by" varchar(191) COLLATE "C"
);
--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "modified_by" varchar(191) COLLATE "C";--> statement-breakpoint
ALTER TABLE "runs" ADD COLUMN "triggered_by" varchar(191) COLLATE "C";--> statement-breakpoint
ALTER TABLE "schedulers" ADD COLUMN "modified_by" varchar(191) COLLATE "C";